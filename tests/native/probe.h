/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memphys-probe: helpers shared by its subcommands (memphys-probe.c) and
 * the whole-region check (region-check.c).
 */
#ifndef MEMPHYS_PROBE_H
#define MEMPHYS_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PAGE 4096UL

const char *errname(int err);
void die(const char *what) __attribute__((noreturn));
int open_dev(const char *dev);
void set_method(int fd, unsigned int method);
volatile uint64_t *map_shared(int fd, size_t len, off_t off);
unsigned int parse_method(const char *s);
uint64_t word(uint64_t seed, size_t i);

int cmd_region_check(char **argv);
int cmd_first_touch(char **argv);
int cmd_gup(char **argv);
int cmd_fill_file(char **argv);
int cmd_odirect(char **argv);
int cmd_pin_unload(char **argv);
int cmd_pin_force_unload(char **argv);
int cmd_map_force_unload(char **argv);
int cmd_hwpoison(char **argv);
int cmd_hwpoison_at(char **argv);
int cmd_vivid_dmabuf(char **argv);
int cmd_dmabuf_mmap(char **argv);
int cmd_fuzz(char **argv);

#endif /* MEMPHYS_PROBE_H */
