/* SPDX-License-Identifier: MIT */
/*
 * profile.h - a profile describes an emulated GPU and its host: local memory
 * (CPU-visible and invisible), PCIe segments (snooped and unsnooped, together
 * the GART aperture), the paging window, GART geometry, engines, the
 * system-memory budget and the swap size.
 *
 * Owns: the built-in profiles, loading a profile from a JSON file (jansson),
 * and validating one. Must not: create a chip or a manager (emu.c and the
 * runner do that from a validated profile).
 *
 * Sizes are bytes in the struct and MiB in JSON ("local_visible_mib", ...).
 */
#ifndef VIDMM_PROFILE_H
#define VIDMM_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIDMM_PROFILE_NAME_LEN 64

struct vidmm_profile {
	char name[VIDMM_PROFILE_NAME_LEN];
	uint64_t local_visible;   /* CPU-visible local memory (BAR) */
	uint64_t local_invisible; /* local memory the CPU cannot map */
	uint64_t pcie_snooped;    /* snooped half of the GART aperture */
	uint64_t pcie_unsnooped;  /* unsnooped half */
	uint64_t paging;          /* paging window carved from a PCIe segment */
	bool paging_snooped;      /* carve it from the snooped segment (else unsnooped) */
	uint32_t page_size;       /* GPU page size: 4096 */
	uint32_t gart_entry_bytes;/* 4 or 8 */
	uint32_t gart_levels;     /* 3 */
	uint32_t copy_engines;    /* >= 1 */
	uint64_t sysmem;          /* system-memory budget for vidmm */
	uint64_t sysmem_reserve;  /* emergency reserve inside the budget */
	uint64_t swap;            /* swap file size */
	uint32_t tlb_entries;     /* emulated TLB size (power of two) */
};

/* Names of the built-in profiles, NULL-terminated. */
extern const char *const vidmm_profile_builtin_names[];

/* Copy the built-in profile name into *out. -ENOENT if unknown. */
int vidmm_profile_builtin(const char *name, struct vidmm_profile *out);

/*
 * Load a profile from a JSON file. Keys not given keep the values of the
 * profile named by "base" (default "default"). Unknown keys, wrong types,
 * negative/zero sizes: -EINVAL with a message naming the file and field in
 * err (if non-NULL). File errors: the negative errno, with a message.
 */
int vidmm_profile_load(const char *path, struct vidmm_profile *out, char *err,
		       size_t err_len);

/* The same from JSON text in memory; name stands for the source in
 * messages. */
int vidmm_profile_parse(const char *text, size_t len, const char *name, struct vidmm_profile *out,
			char *err, size_t err_len);

/* NAME of a built-in profile or a path ending in .json. */
int vidmm_profile_resolve(const char *name_or_path, struct vidmm_profile *out,
			  char *err, size_t err_len);

/*
 * Check a profile for consistency (sizes page-aligned and non-zero where
 * required, paging window inside its segment, GART addressable with the
 * available L1 registers, ...). Returns 0 or -EINVAL with a message naming
 * the offending field.
 */
int vidmm_profile_validate(const struct vidmm_profile *p, char *err,
			   size_t err_len);

#endif /* VIDMM_PROFILE_H */
