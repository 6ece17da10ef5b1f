// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test module: triggers a real kernel WARNING on load so that
 * tests/vm/selftest.sh can check that run-in-vm.sh fails on guest warnings.
 */
#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/module.h>

static int __init memphys_vm_warn_init(void)
{
	WARN(1, "memphys-vm selftest warning");
	return -EAGAIN;
}
module_init(memphys_vm_warn_init);

MODULE_DESCRIPTION("memphys VM harness self-test: WARN on load");
MODULE_LICENSE("GPL");
