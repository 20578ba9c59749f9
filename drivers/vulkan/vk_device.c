/* SPDX-License-Identifier: MIT */
/*
 * vk_device.c - the Vulkan driver's instance, device and memory: choosing a
 * device and checking it has what the driver needs, the validation layer,
 * the segments' and the pool's device memory (clamped to the device), and
 * `vidmm-bench probe`'s Vulkan listing.
 *
 * Owns: c->inst, c->dev, c->queues, c->mem[] and the clamps. Must not:
 * record commands (vk_engine.c) or translate (vk_mmu.c).
 */
#include "vk_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#define MIB (UINT64_C(1) << 20)

static _Atomic uint64_t validation_msgs;

uint64_t vk_validation_messages(void)
{
	return atomic_load(&validation_msgs);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
						 VkDebugUtilsMessageTypeFlagsEXT type,
						 const VkDebugUtilsMessengerCallbackDataEXT *d,
						 void *arg)
{
	(void)type;
	(void)arg;
	atomic_fetch_add(&validation_msgs, 1);
	fprintf(stderr, "vulkan validation (%s): %s\n",
		sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
		d && d->pMessage ? d->pMessage : "?");
	return VK_FALSE;
}

static bool want_validation(void)
{
	const char *v = getenv("VIDMM_VK_VALIDATION");
	return v && *v && strcmp(v, "0") != 0;
}

static bool has_layer(const char *name)
{
	uint32_t n = 0;
	if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || !n)
		return false;
	VkLayerProperties *l = calloc(n, sizeof(*l));
	bool found = false;
	if (l && vkEnumerateInstanceLayerProperties(&n, l) == VK_SUCCESS)
		for (uint32_t i = 0; i < n; i++)
			found |= strcmp(l[i].layerName, name) == 0;
	free(l);
	return found;
}

/* The shared objects mapped now, by path (dl_iterate_phdr). */
struct so_set {
	char **name;
	size_t n, cap;
};

static int so_note(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct so_set *s = arg;
	(void)size;
	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **n = realloc(s->name, cap * sizeof(*n));
		if (!n)
			return 1;
		s->name = n;
		s->cap = cap;
	}
	s->name[s->n] = strdup(info->dlpi_name);
	if (s->name[s->n])
		s->n++;
	return 0;
}

static void so_free(struct so_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->name[i]);
	free(s->name);
}

/*
 * Keep what the loader mapped for an instance (the ICD, its LLVM, the
 * layers) mapped for the rest of the process. The harness opens and closes
 * a chip per repetition; without this each vkDestroyInstance unloaded the
 * driver and the next vkCreateInstance paid its relocations and static
 * set-up again (not timed per instance; LD_PRELOAD of lavapipe with its
 * libLLVM adds 20-30 ms to a process start on the project machine). And memory a
 * driver keeps in its globals once per process (lavapipe allocates some in a
 * pthread_once) becomes unreachable when the driver is unmapped, which
 * LeakSanitizer reports as a leak of an "<unknown module>" in every process
 * that used Vulkan. dlopen(RTLD_NOLOAD | RTLD_NODELETE) of an object already
 * mapped only marks it; the handle is never closed.
 */
static void pin_new_objects(const struct so_set *before)
{
	struct so_set now = { 0 };

	dl_iterate_phdr(so_note, &now);
	for (size_t i = 0; i < now.n; i++) {
		bool old = false;
		for (size_t j = 0; j < before->n && !old; j++)
			old = strcmp(now.name[i], before->name[j]) == 0;
		if (!old)
			(void)dlopen(now.name[i], RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
	}
	so_free(&now);
}

/* An instance, with the validation layer and a messenger when asked for. */
static int make_instance(VkInstance *inst, VkDebugUtilsMessengerEXT *msgr, char *err, size_t len)
{
	const char *layer = "VK_LAYER_KHRONOS_validation";
	const char *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
	bool val = want_validation();
	VkApplicationInfo app = { .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
				  .pApplicationName = "vidmm-bench",
				  .apiVersion = VK_API_VERSION_1_2 };
	VkDebugUtilsMessengerCreateInfoEXT mi = {
		.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
		.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
				   VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
		/* not GENERAL: the loader's own chatter (a missing ICD is one
		 * line from vk_chip_create, not three) */
		.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
			       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
		.pfnUserCallback = on_message,
	};
	VkInstanceCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
				    .pApplicationInfo = &app };

	*inst = VK_NULL_HANDLE;
	*msgr = VK_NULL_HANDLE;
	if (val) {
		if (!has_layer(layer)) {
			snprintf(err, len, "VIDMM_VK_VALIDATION=1 but the validation layer is not "
				 "installed (Debian: vulkan-validationlayers)");
			return -ENODEV;
		}
		ci.enabledLayerCount = 1;
		ci.ppEnabledLayerNames = &layer;
		ci.enabledExtensionCount = 1;
		ci.ppEnabledExtensionNames = &ext;
		ci.pNext = &mi; /* also covers instance creation and destruction */
	}
	struct so_set before = { 0 };
	dl_iterate_phdr(so_note, &before);
	VkResult r = vkCreateInstance(&ci, NULL, inst);
	if (r == VK_SUCCESS)
		pin_new_objects(&before);
	so_free(&before);
	if (r != VK_SUCCESS) {
		snprintf(err, len, "no Vulkan driver: vkCreateInstance failed (%d)", (int)r);
		return -ENODEV;
	}
	if (val) {
		PFN_vkCreateDebugUtilsMessengerEXT f = (PFN_vkCreateDebugUtilsMessengerEXT)
			vkGetInstanceProcAddr(*inst, "vkCreateDebugUtilsMessengerEXT");
		if (f)
			f(*inst, &mi, NULL, msgr);
	}
	return 0;
}

static void destroy_instance(VkInstance inst, VkDebugUtilsMessengerEXT msgr)
{
	if (!inst)
		return;
	if (msgr) {
		PFN_vkDestroyDebugUtilsMessengerEXT f = (PFN_vkDestroyDebugUtilsMessengerEXT)
			vkGetInstanceProcAddr(inst, "vkDestroyDebugUtilsMessengerEXT");
		if (f)
			f(inst, msgr, NULL);
	}
	vkDestroyInstance(inst, NULL);
}

/* The memory type with all of want, none of avoid if possible, in bits. */
static int find_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits,
		     VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid)
{
	int fallback = -1;
	for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
		VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
		if (!(bits & (1u << i)) || (f & want) != want)
			continue;
		if (!(f & avoid))
			return (int)i;
		if (fallback < 0)
			fallback = (int)i;
	}
	return fallback;
}

struct fit {
	int vis, invis, sys;     /* memory types */
	uint32_t compute_family, transfer_family; /* transfer: UINT32_MAX if none */
	uint64_t max_alloc;
};

/* What the device lacks for this driver, or NULL; fills f. */
static const char *check_device(VkPhysicalDevice pd, struct fit *f)
{
	VkPhysicalDeviceProperties p;
	VkPhysicalDeviceVulkan12Features f12 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES };
	VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
					 .pNext = &f12 };
	VkPhysicalDeviceMaintenance3Properties m3 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES };
	VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
					   .pNext = &m3 };
	VkPhysicalDeviceMemoryProperties mp;

	vkGetPhysicalDeviceProperties(pd, &p);
	if (p.apiVersion < VK_API_VERSION_1_2)
		return "Vulkan 1.2";
	vkGetPhysicalDeviceFeatures2(pd, &f2);
	vkGetPhysicalDeviceProperties2(pd, &p2);
	if (!f12.timelineSemaphore)
		return "timeline semaphores";
	if (!f12.bufferDeviceAddress)
		return "buffer device address";
	if (!f2.features.shaderInt64)
		return "shaderInt64";
	vkGetPhysicalDeviceMemoryProperties(pd, &mp);
	f->vis = find_type(&mp, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
			   VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0);
	if (f->vis < 0)
		return "a device-local memory type the CPU can map coherently (BAR or ReBAR)";
	f->invis = find_type(&mp, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
			     VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
	f->sys = find_type(&mp, ~0u, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
			   VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
	if (f->sys < 0)
		return "a host-visible coherent memory type";
	f->max_alloc = m3.maxMemoryAllocationSize;
	uint32_t nq = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, NULL);
	VkQueueFamilyProperties qf[32];
	if (nq > 32)
		nq = 32;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qf);
	f->compute_family = f->transfer_family = UINT32_MAX;
	for (uint32_t i = 0; i < nq; i++) {
		VkQueueFlags q = qf[i].queueFlags;
		if ((q & VK_QUEUE_COMPUTE_BIT) && f->compute_family == UINT32_MAX)
			f->compute_family = i;
		if ((q & VK_QUEUE_TRANSFER_BIT) && !(q & (VK_QUEUE_COMPUTE_BIT | VK_QUEUE_GRAPHICS_BIT)) &&
		    f->transfer_family == UINT32_MAX)
			f->transfer_family = i;
	}
	if (f->compute_family == UINT32_MAX)
		return "a compute queue";
	return NULL;
}

static const char *type_name(VkPhysicalDeviceType t)
{
	switch (t) {
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
	case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
	default: return "other";
	}
}

static int list_devices(VkInstance inst, VkPhysicalDevice **out, uint32_t *n)
{
	*n = 0;
	*out = NULL;
	if (vkEnumeratePhysicalDevices(inst, n, NULL) != VK_SUCCESS || !*n)
		return -ENODEV;
	*out = calloc(*n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	if (vkEnumeratePhysicalDevices(inst, n, *out) < 0) {
		free(*out);
		return -ENODEV;
	}
	return 0;
}

int vkd_alloc(struct vkchip *c, struct vkmem *m, uint64_t size, uint32_t type, bool map)
{
	VkBufferCreateInfo bi = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				  .size = size,
				  .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
					   VK_BUFFER_USAGE_TRANSFER_DST_BIT |
					   VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
					   VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT,
				  .sharingMode = VK_SHARING_MODE_EXCLUSIVE };
	VkMemoryRequirements req;
	VkPhysicalDeviceMemoryProperties mp;
	VkResult r;

	memset(m, 0, sizeof(*m));
	r = vkCreateBuffer(c->dev, &bi, NULL, &m->buf);
	if (r != VK_SUCCESS)
		return VK_CHECK_ERR(r);
	vkGetBufferMemoryRequirements(c->dev, m->buf, &req);
	vkGetPhysicalDeviceMemoryProperties(c->pd, &mp);
	/* The chosen type must suit this buffer: lavapipe has one type, so a
	 * wrong choice would pass here and fail on a real GPU. */
	if (!(req.memoryTypeBits & (1u << type))) {
		VkMemoryPropertyFlags want = mp.memoryTypes[type].propertyFlags;
		int t = find_type(&mp, req.memoryTypeBits, want, 0);
		if (t < 0) {
			vkd_free(c, m);
			return -ENODEV;
		}
		type = (uint32_t)t;
	}
	VkMemoryAllocateFlagsInfo fl = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
					 .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT };
	VkMemoryAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .pNext = &fl,
				    .allocationSize = req.size, .memoryTypeIndex = type };
	r = vkAllocateMemory(c->dev, &ai, NULL, &m->mem);
	if (r == VK_SUCCESS)
		r = vkBindBufferMemory(c->dev, m->buf, m->mem, 0);
	if (r == VK_SUCCESS && map)
		r = vkMapMemory(c->dev, m->mem, 0, VK_WHOLE_SIZE, 0, (void **)&m->cpu);
	if (r != VK_SUCCESS) {
		vkd_free(c, m);
		return VK_CHECK_ERR(r);
	}
	VkBufferDeviceAddressInfo da = { .sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO,
					 .buffer = m->buf };
	m->addr = vkGetBufferDeviceAddress(c->dev, &da);
	m->size = size;
	return 0;
}

void vkd_free(struct vkchip *c, struct vkmem *m)
{
	if (m->cpu)
		vkUnmapMemory(c->dev, m->mem);
	if (m->buf)
		vkDestroyBuffer(c->dev, m->buf, NULL);
	if (m->mem)
		vkFreeMemory(c->dev, m->mem, NULL);
	memset(m, 0, sizeof(*m));
}

/* Pick the device: "" or NULL the first usable one, a number, or part of a
 * name. */
static int choose(VkInstance inst, const char *want, VkPhysicalDevice *pd, struct fit *fit,
		  char *err, size_t len)
{
	VkPhysicalDevice *all;
	uint32_t n;
	int ret = list_devices(inst, &all, &n);
	const char *lack = NULL;
	char *end;

	if (ret) {
		snprintf(err, len, "no Vulkan device (the loader found no driver)");
		return ret;
	}
	long idx = want && *want ? strtol(want, &end, 10) : -1;
	bool by_index = want && *want && !*end;
	ret = -ENODEV;
	for (uint32_t i = 0; i < n; i++) {
		VkPhysicalDeviceProperties p;
		vkGetPhysicalDeviceProperties(all[i], &p);
		if (by_index ? (long)i != idx : want && *want && !strstr(p.deviceName, want))
			continue;
		const char *l = check_device(all[i], fit);
		if (l) {
			if (!lack)
				lack = l;
			snprintf(err, len, "Vulkan device %u (%s) lacks %s", i, p.deviceName, l);
			if (by_index || (want && *want))
				break;
			continue;
		}
		*pd = all[i];
		ret = 0;
		break;
	}
	if (ret && !lack && want && *want) {
		/* the user named a device that is not there: bad input */
		snprintf(err, len, "--device: no Vulkan device %s '%s' (%u device%s: see "
			 "vidmm-bench probe)", by_index ? "number" : "named", want, n, n == 1 ? "" : "s");
		ret = -EINVAL;
	}
	free(all);
	return ret;
}

static uint64_t heap_of(VkPhysicalDevice pd, int type, uint32_t *heap)
{
	VkPhysicalDeviceMemoryProperties mp;
	vkGetPhysicalDeviceMemoryProperties(pd, &mp);
	*heap = mp.memoryTypes[type].heapIndex;
	return mp.memoryHeaps[*heap].size;
}

static uint64_t round_down(uint64_t v, uint64_t a)
{
	return v / a * a;
}

/* Clamp the profile's sizes to the device: each allocation to the largest
 * the device allows, and all that share a heap to 3/4 of it together. */
static void clamp(struct vkchip *c, const struct fit *f)
{
	struct vidmm_profile *p = &c->prof;
	uint64_t *sz[3] = { &p->local_visible, &p->local_invisible, &p->sysmem };
	const char *nm[3] = { "local_visible", "local_invisible", "sysmem" };
	int types[3] = { f->vis, f->invis >= 0 ? f->invis : f->vis, f->sys };
	uint64_t orig[3] = { *sz[0], *sz[1], *sz[2] };
	uint32_t heaps[3];
	uint64_t hsize[3];
	size_t o = 0;

	for (int i = 0; i < 3; i++) {
		hsize[i] = heap_of(c->pd, types[i], &heaps[i]);
		if (f->max_alloc && *sz[i] > f->max_alloc)
			*sz[i] = round_down(f->max_alloc, MIB);
	}
	for (int i = 0; i < 3; i++) {
		uint64_t total = 0, cap = hsize[i] / 4 * 3;
		for (int k = 0; k < 3; k++)
			if (heaps[k] == heaps[i])
				total += *sz[k];
		if (total <= cap)
			continue;
		for (int k = 0; k < 3; k++)
			if (heaps[k] == heaps[i])
				*sz[k] = round_down((uint64_t)((double)*sz[k] * ((double)cap / (double)total)),
						    MIB);
	}
	if (p->sysmem_reserve > p->sysmem / 8)
		p->sysmem_reserve = round_down(p->sysmem / 8, p->page_size);
	c->clamps[0] = 0;
	for (int i = 0; i < 3; i++)
		if (*sz[i] != orig[i] && o < sizeof(c->clamps))
			o += (size_t)snprintf(c->clamps + o, sizeof(c->clamps) - o,
					      "%s%s clamped from %" PRIu64 " MiB to %" PRIu64
					      " MiB", o ? "; " : "", nm[i],
					      orig[i] / MIB, *sz[i] / MIB);
}

static int make_device(struct vkchip *c, const struct fit *f, char *err, size_t len)
{
	float prio = 1.0f;
	VkDeviceQueueCreateInfo q[2] = {
		{ .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		  .queueFamilyIndex = f->compute_family, .queueCount = 1, .pQueuePriorities = &prio },
		{ .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		  .queueFamilyIndex = f->transfer_family, .queueCount = 1, .pQueuePriorities = &prio },
	};
	VkPhysicalDeviceVulkan12Features f12 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
		.timelineSemaphore = VK_TRUE, .bufferDeviceAddress = VK_TRUE };
	VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
					 .pNext = &f12, .features = { .shaderInt64 = VK_TRUE } };
	VkDeviceCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &f2,
				  .queueCreateInfoCount = f->transfer_family == UINT32_MAX ? 1 : 2,
				  .pQueueCreateInfos = q };
	VkResult r = vkCreateDevice(c->pd, &ci, NULL, &c->dev);

	if (r != VK_SUCCESS) {
		snprintf(err, len, "vkCreateDevice failed (%d)", (int)r);
		return VK_CHECK_ERR(r);
	}
	c->nqueues = ci.queueCreateInfoCount;
	for (uint32_t i = 0; i < c->nqueues; i++) {
		c->queues[i].family = q[i].queueFamilyIndex;
		vkGetDeviceQueue(c->dev, c->queues[i].family, 0, &c->queues[i].q);
		pthread_mutex_init(&c->queues[i].lock, NULL);
	}
	return 0;
}

int vk_chip_create(const struct vidmm_profile *p, const char *device, struct vkchip **out,
		   struct vidmm_profile *used, char *err, size_t len)
{
	struct vkchip *c;
	struct fit f;
	int ret;

	if (!p || !out)
		return -EINVAL;
	ret = vidmm_profile_validate(p, err, len);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->prof = *p;
	pthread_mutex_init(&c->tlb_lock, NULL);
	ret = make_instance(&c->inst, &c->msgr, err, len);
	if (ret)
		goto fail;
	ret = choose(c->inst, device, &c->pd, &f, err, len);
	if (ret)
		goto fail;
	VkPhysicalDeviceProperties pp;
	vkGetPhysicalDeviceProperties(c->pd, &pp);
	snprintf(c->name, sizeof(c->name), "%s (Vulkan %u.%u.%u)", pp.deviceName,
		 VK_API_VERSION_MAJOR(pp.apiVersion), VK_API_VERSION_MINOR(pp.apiVersion),
		 VK_API_VERSION_PATCH(pp.apiVersion));
	clamp(c, &f);
	ret = vidmm_profile_validate(&c->prof, err, len);
	if (ret) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, len, "%s: too small for the profile once clamped: %s", c->name, why);
		ret = -ENODEV;
		goto fail;
	}
	ret = make_device(c, &f, err, len);
	if (ret)
		goto fail;
	c->page_size = c->prof.page_size;
	c->page_shift = (uint32_t)__builtin_ctz(c->page_size);
	c->entry_bytes = c->prof.gart_entry_bytes;
	c->per_table = c->page_size / c->entry_bytes;
	c->per_table_shift = (uint32_t)__builtin_ctz(c->per_table);
	c->local_size = c->prof.local_visible + c->prof.local_invisible;
	c->pcie_size = c->prof.pcie_snooped + c->prof.pcie_unsnooped;
	c->pcie_base = chip_layout_pcie_base(c->local_size);
	c->pool_npages = c->prof.sysmem >> c->page_shift;
	for (uint32_t i = 0; i < VK_NREGS; i++)
		atomic_init(&c->regs[i], 0);
	atomic_init(&c->regs[CHIP_MMIO_ID / 4], VK_CHIP_ID);
	c->tlb_mask = c->prof.tlb_entries - 1;
	c->tlb = calloc(c->prof.tlb_entries, sizeof(*c->tlb));
	ret = -ENOMEM;
	if (!c->tlb)
		goto fail;
	struct { uint64_t size; int type; bool map; } m[MEM_FIXED] = {
		[MEM_VIS] = { c->prof.local_visible, f.vis, true },
		[MEM_INVIS] = { c->prof.local_invisible, f.invis >= 0 ? f.invis : f.vis, false },
		[MEM_SYS] = { c->prof.sysmem, f.sys, true },
		[MEM_ZERO] = { c->page_size, f.sys, true },
	};
	for (int i = 0; i < MEM_FIXED; i++) {
		if (!m[i].size)
			continue;
		c->mtype[i] = (uint32_t)m[i].type;
		ret = vkd_alloc(c, &c->mem[i], m[i].size, (uint32_t)m[i].type, m[i].map);
		if (ret) {
			snprintf(err, len, "%s: cannot allocate %" PRIu64 " MiB of device memory",
				 c->name, m[i].size / MIB);
			goto fail;
		}
	}
	memset(c->mem[MEM_ZERO].cpu, 0, c->page_size);
	ret = vk_engines_start(c, err, len);
	if (ret)
		goto fail;
	if (used)
		*used = c->prof;
	*out = c;
	return 0;
fail:
	vk_chip_destroy(c);
	return ret;
}

void vk_chip_destroy(struct vkchip *c)
{
	if (!c)
		return;
	if (c->dev) {
		vk_engines_stop(c);
		for (int i = 0; i < MEM_FIXED; i++)
			vkd_free(c, &c->mem[i]);
		for (uint32_t i = 0; i < c->nqueues; i++)
			pthread_mutex_destroy(&c->queues[i].lock);
		vkDestroyDevice(c->dev, NULL);
	}
	destroy_instance(c->inst, c->msgr);
	free(c->tlb);
	pthread_mutex_destroy(&c->tlb_lock);
	free(c);
}

const char *vk_chip_clamps(const struct vkchip *c)
{
	return c->clamps;
}

const char *vk_chip_device_name(const struct vkchip *c)
{
	return c->name;
}

static void flags_str(char *b, size_t n, VkMemoryPropertyFlags f)
{
	static const struct { VkMemoryPropertyFlags f; const char *s; } t[] = {
		{ VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, "DEVICE_LOCAL" },
		{ VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, "HOST_VISIBLE" },
		{ VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, "HOST_COHERENT" },
		{ VK_MEMORY_PROPERTY_HOST_CACHED_BIT, "HOST_CACHED" },
	};
	size_t o = 0;
	b[0] = 0;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if ((f & t[i].f) && o < n)
			o += (size_t)snprintf(b + o, n - o, "%s%s", o ? "|" : "", t[i].s);
}

/* A device name as a JSON string's contents: quotes, backslashes and
 * control characters escaped (a driver names its device as it likes). */
static const char *json_text(const char *in, char *buf, size_t len)
{
	size_t o = 0;
	for (; *in && o + 7 < len; in++) {
		unsigned char ch = (unsigned char)*in;
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\%c", ch);
		else if (ch < 0x20)
			o += (size_t)snprintf(buf + o, len - o, "\\u%04x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = 0;
	return buf;
}

int vk_probe(FILE *out, bool json)
{
	VkInstance inst;
	VkDebugUtilsMessengerEXT msgr;
	VkPhysicalDevice *all;
	uint32_t n;
	char err[256];

	if (make_instance(&inst, &msgr, err, sizeof(err))) {
		if (json)
			fprintf(out, "[]\n");
		else
			fprintf(out, "Vulkan: %s\n", err);
		return -ENODEV;
	}
	if (list_devices(inst, &all, &n)) {
		if (json)
			fprintf(out, "[]\n");
		else
			fprintf(out, "Vulkan: no device (the loader found no driver)\n");
		destroy_instance(inst, msgr);
		return -ENODEV;
	}
	if (json)
		fputc('[', out);
	for (uint32_t i = 0; i < n; i++) {
		VkPhysicalDeviceProperties p;
		VkPhysicalDeviceMemoryProperties mp;
		struct fit f;
		uint32_t nq = 0;
		VkQueueFamilyProperties qf[32];

		vkGetPhysicalDeviceProperties(all[i], &p);
		vkGetPhysicalDeviceMemoryProperties(all[i], &mp);
		vkGetPhysicalDeviceQueueFamilyProperties(all[i], &nq, NULL);
		if (nq > 32)
			nq = 32;
		vkGetPhysicalDeviceQueueFamilyProperties(all[i], &nq, qf);
		const char *lack = check_device(all[i], &f);
		char esc[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE * 6 + 8];
		if (json) {
			fprintf(out, "%s{\"index\":%u,\"name\":\"%s\",\"type\":\"%s\",\"api\":\"%u.%u.%u\","
				"\"vendor_id\":%u,\"device_id\":%u,\"usable\":%s,\"lacks\":\"%s\",\"heaps\":[",
				i ? "," : "", i, json_text(p.deviceName, esc, sizeof(esc)),
				type_name(p.deviceType),
				VK_API_VERSION_MAJOR(p.apiVersion), VK_API_VERSION_MINOR(p.apiVersion),
				VK_API_VERSION_PATCH(p.apiVersion), p.vendorID, p.deviceID,
				lack ? "false" : "true", lack ? lack : "");
			for (uint32_t h = 0; h < mp.memoryHeapCount; h++)
				fprintf(out, "%s{\"size\":%" PRIu64 ",\"device_local\":%s}", h ? "," : "",
					(uint64_t)mp.memoryHeaps[h].size,
					mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT ? "true"
												   : "false");
			fprintf(out, "],\"memory_types\":[");
			for (uint32_t t = 0; t < mp.memoryTypeCount; t++) {
				char fl[96];
				flags_str(fl, sizeof(fl), mp.memoryTypes[t].propertyFlags);
				fprintf(out, "%s{\"heap\":%u,\"flags\":\"%s\"}", t ? "," : "",
					mp.memoryTypes[t].heapIndex, fl);
			}
			fprintf(out, "],\"queue_families\":[");
			for (uint32_t q = 0; q < nq; q++)
				fprintf(out, "%s{\"flags\":%u,\"count\":%u}", q ? "," : "",
					(unsigned)qf[q].queueFlags, qf[q].queueCount);
			fprintf(out, "]}");
			continue;
		}
		fprintf(out, "Vulkan device %u: %s (%s, Vulkan %u.%u.%u, vendor 0x%04x device 0x%04x)%s%s\n",
			i, p.deviceName, type_name(p.deviceType), VK_API_VERSION_MAJOR(p.apiVersion),
			VK_API_VERSION_MINOR(p.apiVersion), VK_API_VERSION_PATCH(p.apiVersion),
			p.vendorID, p.deviceID, lack ? ": not usable, lacks " : "", lack ? lack : "");
		for (uint32_t h = 0; h < mp.memoryHeapCount; h++)
			fprintf(out, "  heap %u: %" PRIu64 " MiB%s\n", h,
				(uint64_t)mp.memoryHeaps[h].size / MIB,
				mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT ? " device-local" : "");
		for (uint32_t t = 0; t < mp.memoryTypeCount; t++) {
			char fl[96];
			flags_str(fl, sizeof(fl), mp.memoryTypes[t].propertyFlags);
			fprintf(out, "  memory type %u: heap %u %s\n", t, mp.memoryTypes[t].heapIndex,
				fl[0] ? fl : "(none)");
		}
		for (uint32_t q = 0; q < nq; q++)
			fprintf(out, "  queue family %u: %u queue(s)%s%s%s\n", q, qf[q].queueCount,
				qf[q].queueFlags & VK_QUEUE_GRAPHICS_BIT ? " graphics" : "",
				qf[q].queueFlags & VK_QUEUE_COMPUTE_BIT ? " compute" : "",
				qf[q].queueFlags & VK_QUEUE_TRANSFER_BIT ? " transfer" : "");
	}
	if (json)
		fprintf(out, "]\n");
	free(all);
	destroy_instance(inst, msgr);
	return 0;
}
