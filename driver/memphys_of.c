// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: regions described by the device tree.
 *
 * On a board the buffer of a device is kept from the kernel by a child of
 * /reserved-memory marked no-map, and the node of the device that owns it
 * points there with memory-region.  memphys binds to such a node
 * (compatible = "memphys,region", see
 * Documentation/devicetree/bindings/memphys.yaml) and exposes the buffer as
 * one more region, with the checks and the interface of a regions= entry.
 *
 * Regions live until the module is unloaded: the driver cannot be unbound
 * from its devices through sysfs (suppress_bind_attrs), so a probe only
 * ever adds one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mod_devicetable.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_reserved_mem.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "memphys.h"

/* The first error of a probe, for the module's init to return. */
static int memphys_of_error;

int memphys_of_probe_error(void)
{
	return memphys_of_error;
}

/*
 * Base and size of @buf, the node memory-region points at: a child of
 * /reserved-memory that the kernel set aside at boot and keeps out of its
 * linear map (no-map).
 */
static int memphys_of_buffer(struct device *dev, struct device_node *buf,
			     struct memphys_region_desc *d)
{
	struct device_node *parent = of_get_parent(buf);
	struct reserved_mem *rmem;
	bool reserved = parent && of_node_name_eq(parent, "reserved-memory");

	of_node_put(parent);
	if (!reserved) {
		dev_err(dev, "memory-region %pOF is not a child of /reserved-memory\n",
			buf);
		return -EINVAL;
	}
	if (of_property_read_bool(buf, "reusable")) {
		dev_err(dev, "memory-region %pOF is reusable: the kernel lends it to the page allocator (CMA) while no driver holds it, so its pages are not ours to hand out; reserve it with no-map instead\n",
			buf);
		return -EBUSY;
	}
	if (!of_property_read_bool(buf, "no-map")) {
		dev_err(dev, "memory-region %pOF has no no-map property: without it the kernel keeps the range in its linear map, a cacheable alias of every mapping memphys would give\n",
			buf);
		return -EINVAL;
	}
	rmem = of_reserved_mem_lookup(buf);
	if (!rmem) {
		dev_err(dev, "memory-region %pOF was not reserved at boot (disabled, or its allocation failed)\n",
			buf);
		return -ENODEV;
	}
	d->base = rmem->base;
	d->size = rmem->size;
	return 0;
}

/*
 * Whether @name has the form of a default name, memphysN: the names of the
 * regions= entries and of the unnamed nodes, handed out in the order the
 * regions are created.  Such a name given to a node could take the name of
 * a region created later, so it is refused whatever the order.
 */
static bool memphys_of_default_name(const char *name)
{
	const char *digits = name + strlen(KBUILD_MODNAME);

	return str_has_prefix(name, KBUILD_MODNAME) && *digits &&
	       strspn(digits, "0123456789") == strlen(digits);
}

/* The optional properties: memory type, pages method, device name. */
static int memphys_of_options(struct device *dev, struct memphys_region_desc *d)
{
	struct device_node *np = dev->of_node;
	const char *type;

	d->caching = MEMPHYS_CACHE_WB;
	if (!of_property_read_string(np, "memphys,memory-type", &type) &&
	    memphys_caching_parse(type, &d->caching)) {
		dev_err(dev, "memphys,memory-type \"%s\": expected wb, wc or uc\n",
			type);
		return -EINVAL;
	}
	d->pages = of_property_read_bool(np, "memphys,pages");
	d->name = NULL;
	if (of_property_read_string(np, "memphys,device-name", &d->name))
		return 0;
	if (!*d->name || strlen(d->name) >= sizeof_field(struct memphys_region, name) ||
	    strpbrk(d->name, "/ ")) {
		dev_err(dev, "memphys,device-name \"%s\": expected 1 to %zu characters, no '/' or space\n",
			d->name, sizeof_field(struct memphys_region, name) - 1);
		return -EINVAL;
	}
	if (memphys_of_default_name(d->name)) {
		dev_err(dev, "memphys,device-name \"%s\": names of the form memphysN are the default names of regions= entries and unnamed nodes; choose another\n",
			d->name);
		return -EINVAL;
	}
	return 0;
}

static int memphys_of_create(struct device *dev)
{
	struct memphys_region_desc d = { .dev = dev };
	struct device_node *buf;
	int ret;

	buf = of_parse_phandle(dev->of_node, "memory-region", 0);
	if (!buf) {
		dev_err(dev, "no memory-region: it must point at a no-map child of /reserved-memory\n");
		return -EINVAL;
	}
	/* Its DMA snoops the CPU caches: MEMPHYS_IOC_SYNC has nothing to do. */
	d.coherent = of_dma_is_coherent(dev->of_node);
	ret = memphys_of_buffer(dev, buf, &d);
	if (!ret)
		ret = memphys_of_options(dev, &d);
	if (!ret) {
		d.what = devm_kasprintf(dev, GFP_KERNEL, "%pOF (memory-region %pOF)",
					dev->of_node, buf);
		d.source = devm_kasprintf(dev, GFP_KERNEL,
					  "devicetree %pOF memory-region=%pOF",
					  dev->of_node, buf);
		ret = d.what && d.source ? memphys_region_create(&d) : -ENOMEM;
		devm_kfree(dev, d.what);
		devm_kfree(dev, d.source);
	}
	of_node_put(buf);
	return ret;
}

static int memphys_of_probe(struct platform_device *pdev)
{
	int ret = memphys_of_create(&pdev->dev);

	if (ret && !memphys_of_error)
		memphys_of_error = ret;
	return ret;
}

static const struct of_device_id memphys_of_ids[] = {
	{ .compatible = "memphys,region" },
	{ }
};
MODULE_DEVICE_TABLE(of, memphys_of_ids);

static struct platform_driver memphys_of_driver = {
	.probe = memphys_of_probe,
	.driver = {
		.name = KBUILD_MODNAME,
		.of_match_table = memphys_of_ids,
		.suppress_bind_attrs = true,
		/* module init counts the regions probed: never asynchronously */
		.probe_type = PROBE_FORCE_SYNCHRONOUS,
	},
};

int memphys_of_register(void)
{
	return platform_driver_register(&memphys_of_driver);
}

void memphys_of_unregister(void)
{
	platform_driver_unregister(&memphys_of_driver);
}

/*
 * Whether [base, base + size) lies in one range of a /memory node: RAM that
 * mem= trimmed off appears in no resource, only there.
 */
bool memphys_of_memory_covers(u64 base, u64 size)
{
	struct device_node *np;
	struct resource res;
	int i;

	for_each_node_by_type(np, "memory") {
		if (!of_device_is_available(np))
			continue;
		for (i = 0; !of_address_to_resource(np, i, &res); i++) {
			if (base >= res.start && base + size - 1 <= res.end) {
				of_node_put(np);
				return true;
			}
		}
	}
	return false;
}
