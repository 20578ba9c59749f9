/* SPDX-License-Identifier: MIT */
/*
 * profile.c - built-in profiles, JSON profile loading (jansson) and profile
 * validation (see profile.h).
 *
 * Owns: the table of built-in profiles, the JSON key table and every rule a
 * profile must satisfy before a chip is built from it.
 * Must not: create a chip or a manager, or know emu internals beyond the
 * public register map in emu/emu.h (needed for the L1 register count and the
 * entry format the GART must be addressable with).
 *
 * No shared mutable state: the built-in table is const, every function works
 * on caller memory, so everything here is thread-safe.
 */
#include "profile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "emu/emu.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

/*
 * Every size in MiB must stay far from overflow once turned into bytes and
 * summed; 16 TiB per field is more than any GPU of this decade.
 */
#define PROFILE_MAX_MIB (UINT64_C(16) << 20)

/*
 * The emulator numbers system frames from a non-zero first frame (so a core
 * that writes pool indices instead of frame numbers is caught). Leave room
 * for that offset when checking that frames fit in an entry.
 */
#define PROFILE_PFN_HEADROOM (UINT64_C(1) << 16)

static const struct vidmm_profile builtins[] = {
	{
		/* CI-sized: small enough to oversubscribe in seconds. */
		.name = "tiny",
		.local_visible = 16 * MIB,
		.local_invisible = 48 * MIB,
		.pcie_snooped = 32 * MIB,
		.pcie_unsnooped = 32 * MIB,
		.paging = 8 * MIB,
		.paging_snooped = true,
		.page_size = 4096,
		.gart_entry_bytes = 4,
		.gart_levels = 3,
		.copy_engines = 1,
		.sysmem = 128 * MIB,
		.sysmem_reserve = 8 * MIB,
		.swap = 256 * MIB,
		.tlb_entries = 64,
	},
	{
		.name = "default",
		.local_visible = 256 * MIB,
		.local_invisible = 768 * MIB,
		.pcie_snooped = 512 * MIB,
		.pcie_unsnooped = 512 * MIB,
		.paging = 64 * MIB,
		.paging_snooped = true,
		.page_size = 4096,
		.gart_entry_bytes = 4,
		.gart_levels = 3,
		.copy_engines = 2,
		.sysmem = 2 * GIB,
		.sysmem_reserve = 32 * MIB,
		.swap = 4 * GIB,
		.tlb_entries = 256,
	},
	{
		/* Shaped like the design note's hardware. */
		.name = "arise",
		.local_visible = 256 * MIB,
		.local_invisible = 3840 * MIB,
		.pcie_snooped = 4 * GIB,
		.pcie_unsnooped = 4 * GIB,
		.paging = 1 * GIB,
		.paging_snooped = true,
		.page_size = 4096,
		.gart_entry_bytes = 4,
		.gart_levels = 3,
		.copy_engines = 2,
		.sysmem = 8 * GIB,
		.sysmem_reserve = 64 * MIB,
		.swap = 8 * GIB,
		.tlb_entries = 512,
	},
};

const char *const vidmm_profile_builtin_names[] = { "tiny", "default", "arise", NULL };

static void seterr(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

int vidmm_profile_builtin(const char *name, struct vidmm_profile *out)
{
	if (!name || !out)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		if (strcmp(builtins[i].name, name) == 0) {
			*out = builtins[i];
			return 0;
		}
	}
	return -ENOENT;
}

static bool is_pow2_u32(uint32_t v)
{
	return v && !(v & (v - 1));
}

int vidmm_profile_validate(const struct vidmm_profile *p, char *err, size_t err_len)
{
	if (!p) {
		seterr(err, err_len, "profile: NULL");
		return -EINVAL;
	}
	if (memchr(p->name, '\0', sizeof(p->name)) == NULL || p->name[0] == '\0') {
		seterr(err, err_len, "profile: name: must be a non-empty string shorter than %d bytes",
		       VIDMM_PROFILE_NAME_LEN);
		return -EINVAL;
	}

#define FAIL(...) do { seterr(err, err_len, __VA_ARGS__); return -EINVAL; } while (0)

	const char *n = p->name;

	if (p->page_size != 4096)
		FAIL("profile %s: page_size: %" PRIu32 " unsupported (must be 4096)", n, p->page_size);
	if (p->gart_entry_bytes != 4 && p->gart_entry_bytes != 8)
		FAIL("profile %s: gart_entry_bytes: %" PRIu32 " (must be 4 or 8)", n, p->gart_entry_bytes);
	if (p->gart_levels != 3)
		FAIL("profile %s: gart_levels: %" PRIu32 " (must be 3)", n, p->gart_levels);
	if (p->copy_engines < 1 || p->copy_engines > 8)
		FAIL("profile %s: copy_engines: %" PRIu32 " (must be 1..8)", n, p->copy_engines);
	if (!is_pow2_u32(p->tlb_entries) || p->tlb_entries > (1u << 20))
		FAIL("profile %s: tlb_entries: %" PRIu32 " (must be a power of two, 1..1048576)",
		     n, p->tlb_entries);

	const uint64_t ps = p->page_size;
	const uint64_t max_bytes = PROFILE_MAX_MIB * MIB;
	struct { const char *field; uint64_t v; bool nonzero; } sizes[] = {
		{ "local_visible", p->local_visible, true },
		{ "local_invisible", p->local_invisible, false },
		{ "pcie_snooped", p->pcie_snooped, false },
		{ "pcie_unsnooped", p->pcie_unsnooped, false },
		{ "paging", p->paging, true },
		{ "sysmem", p->sysmem, true },
		{ "sysmem_reserve", p->sysmem_reserve, false },
		{ "swap", p->swap, false },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i].nonzero && sizes[i].v == 0)
			FAIL("profile %s: %s: must be non-zero", n, sizes[i].field);
		if (sizes[i].v % ps)
			FAIL("profile %s: %s: %" PRIu64 " bytes is not a multiple of page_size %" PRIu64,
			     n, sizes[i].field, sizes[i].v, ps);
		if (sizes[i].v > max_bytes)
			FAIL("profile %s: %s: %" PRIu64 " bytes is larger than the %" PRIu64 " MiB limit",
			     n, sizes[i].field, sizes[i].v, PROFILE_MAX_MIB);
	}

	uint64_t gart = p->pcie_snooped + p->pcie_unsnooped;
	if (gart == 0)
		FAIL("profile %s: pcie_snooped, pcie_unsnooped: the PCIe aperture is empty", n);
	uint64_t parent = p->paging_snooped ? p->pcie_snooped : p->pcie_unsnooped;
	const char *parent_name = p->paging_snooped ? "pcie_snooped" : "pcie_unsnooped";
	if (p->paging >= parent)
		FAIL("profile %s: paging: %" PRIu64 " MiB window must be smaller than its parent segment "
		     "%s (%" PRIu64 " MiB; paging_segment=%s)", n, p->paging / MIB, parent_name,
		     parent / MIB, p->paging_snooped ? "snooped" : "unsnooped");
	if (p->sysmem_reserve >= p->sysmem)
		FAIL("profile %s: sysmem_reserve: %" PRIu64 " MiB must be smaller than sysmem (%" PRIu64 " MiB)",
		     n, p->sysmem_reserve / MIB, p->sysmem / MIB);

	/*
	 * GART addressability: one L1 register per L1 entry, each covering
	 * entries_per_table^2 pages.
	 */
	const uint64_t l1_regs = (EMU_MMIO_SIZE - EMU_MMIO_MMU_START_ADDRESS) / 4;
	const uint64_t per_table = ps / p->gart_entry_bytes;
	const uint64_t max_gart = l1_regs * per_table * per_table * ps;
	if (gart > max_gart)
		FAIL("profile %s: pcie_snooped+pcie_unsnooped: aperture of %" PRIu64 " MiB exceeds the %"
		     PRIu64 " MiB the %" PRIu64 " L1 registers can address with gart_entry_bytes=%" PRIu32,
		     n, gart / MIB, max_gart / MIB, l1_regs, p->gart_entry_bytes);

	/*
	 * Frame numbers must fit in an entry: L1 registers are 32-bit and name
	 * local frames; L2 entries name local frames and L3 entries system
	 * frames, all in entry_bytes * 8 - EMU_PTE_SHIFT bits.
	 */
	const unsigned entry_bits = p->gart_entry_bytes * 8 - EMU_PTE_SHIFT;
	const unsigned reg_bits = 32 - EMU_PTE_SHIFT;
	const unsigned local_bits = entry_bits < reg_bits ? entry_bits : reg_bits;
	const uint64_t local = p->local_visible + p->local_invisible;
	if (local / ps > (1ull << local_bits))
		FAIL("profile %s: local_visible+local_invisible: %" PRIu64 " MiB of local memory has "
		     "frames that do not fit in %u-bit GART table pointers", n, local / MIB, local_bits);
	if (entry_bits < 64 && p->sysmem / ps + PROFILE_PFN_HEADROOM > (1ull << entry_bits))
		FAIL("profile %s: sysmem: %" PRIu64 " MiB has frames that do not fit in %u-bit "
		     "L3 entries (gart_entry_bytes=%" PRIu32 ")", n, p->sysmem / MIB, entry_bits,
		     p->gart_entry_bytes);
#undef FAIL
	return 0;
}

/* ---- JSON ---- */

enum jkind { J_SIZE, J_U32, J_STR };

struct jkey {
	const char *key;
	enum jkind kind;
	/* J_SIZE: the offset of a uint64_t; J_U32: of a uint32_t. */
	size_t off;
	/* zero is a legal value (optional memory kinds) */
	bool zero_ok;
};

static const struct jkey jkeys[] = {
	{ "name", J_STR, 0, false },
	{ "base", J_STR, 0, false },
	{ "paging_segment", J_STR, 0, false },
	{ "local_visible_mib", J_SIZE, offsetof(struct vidmm_profile, local_visible), false },
	{ "local_invisible_mib", J_SIZE, offsetof(struct vidmm_profile, local_invisible), true },
	{ "pcie_snooped_mib", J_SIZE, offsetof(struct vidmm_profile, pcie_snooped), true },
	{ "pcie_unsnooped_mib", J_SIZE, offsetof(struct vidmm_profile, pcie_unsnooped), true },
	{ "paging_mib", J_SIZE, offsetof(struct vidmm_profile, paging), false },
	{ "sysmem_mib", J_SIZE, offsetof(struct vidmm_profile, sysmem), false },
	{ "sysmem_reserve_mib", J_SIZE, offsetof(struct vidmm_profile, sysmem_reserve), true },
	{ "swap_mib", J_SIZE, offsetof(struct vidmm_profile, swap), true },
	{ "page_size", J_U32, offsetof(struct vidmm_profile, page_size), false },
	{ "gart_entry_bytes", J_U32, offsetof(struct vidmm_profile, gart_entry_bytes), false },
	{ "gart_levels", J_U32, offsetof(struct vidmm_profile, gart_levels), false },
	{ "copy_engines", J_U32, offsetof(struct vidmm_profile, copy_engines), false },
	{ "tlb_entries", J_U32, offsetof(struct vidmm_profile, tlb_entries), false },
};

static const struct jkey *find_jkey(const char *key)
{
	for (size_t i = 0; i < sizeof(jkeys) / sizeof(jkeys[0]); i++)
		if (strcmp(jkeys[i].key, key) == 0)
			return &jkeys[i];
	return NULL;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

static int profile_from_json(json_t *root, const char *path, struct vidmm_profile *out,
			     char *err, size_t err_len);

int vidmm_profile_load(const char *path, struct vidmm_profile *out, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	if (!path || !out) {
		seterr(err, err_len, "profile: NULL path or output");
		return -EINVAL;
	}

	FILE *f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		seterr(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return ret;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		fclose(f);
		seterr(err, err_len, "%s: is a directory, not a profile file", path);
		return -EISDIR;
	}
	/* JSON_REJECT_DUPLICATES: a key given twice is almost always a typo. */
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root) {
		seterr(err, err_len, "%s:%d:%d: malformed JSON: %s", path, jerr.line, jerr.column,
		       jerr.text);
		return -EINVAL;
	}
	return profile_from_json(root, path, out, err, err_len);
}

int vidmm_profile_parse(const char *text, size_t len, const char *name, struct vidmm_profile *out,
			char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *root;

	if (!text || !name || !out) {
		seterr(err, err_len, "profile: NULL text, name or output");
		return -EINVAL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		seterr(err, err_len, "%s:%d:%d: malformed JSON: %s", name, jerr.line, jerr.column,
		       jerr.text);
		return -EINVAL;
	}
	return profile_from_json(root, name, out, err, err_len);
}

/* Takes root's reference. path names the source in messages. */
static int profile_from_json(json_t *root, const char *path, struct vidmm_profile *out,
			     char *err, size_t err_len)
{
	struct vidmm_profile p;
	const char *key;
	json_t *val;
	int ret;

	if (!json_is_object(root)) {
		seterr(err, err_len, "%s: the top level must be an object, not %s", path,
		       json_type_name(root));
		json_decref(root);
		return -EINVAL;
	}

#define FAIL(...) do { seterr(err, err_len, __VA_ARGS__); ret = -EINVAL; goto out; } while (0)

	/* The base comes first: every other key overrides it. */
	const char *base = "default";
	json_t *jb = json_object_get(root, "base");
	if (jb) {
		if (!json_is_string(jb))
			FAIL("%s: base: must be a string naming a built-in profile, not %s", path,
			     json_type_name(jb));
		base = json_string_value(jb);
	}
	if (vidmm_profile_builtin(base, &p) != 0)
		FAIL("%s: base: unknown built-in profile \"%s\" (tiny, default, arise)", path, base);

	json_object_foreach(root, key, val) {
		const struct jkey *k = find_jkey(key);

		if (!k)
			FAIL("%s: %s: unknown key", path, key);
		if (strcmp(key, "base") == 0)
			continue;
		if (k->kind == J_STR) {
			if (!json_is_string(val))
				FAIL("%s: %s: must be a string, not %s", path, key, json_type_name(val));
			const char *s = json_string_value(val);
			if (strcmp(key, "name") == 0) {
				size_t len = json_string_length(val);
				if (len == 0 || len >= sizeof(p.name) || strlen(s) != len)
					FAIL("%s: name: must be 1..%zu bytes without NUL", path,
					     sizeof(p.name) - 1);
				memcpy(p.name, s, len + 1);
			} else { /* paging_segment */
				if (strcmp(s, "snooped") == 0)
					p.paging_snooped = true;
				else if (strcmp(s, "unsnooped") == 0)
					p.paging_snooped = false;
				else
					FAIL("%s: paging_segment: \"%s\" (must be \"snooped\" or \"unsnooped\")",
					     path, s);
			}
			continue;
		}
		if (!json_is_integer(val))
			FAIL("%s: %s: must be an integer, not %s", path, key, json_type_name(val));
		json_int_t v = json_integer_value(val);
		if (v < 0)
			FAIL("%s: %s: %" JSON_INTEGER_FORMAT " is negative", path, key, v);
		if (v == 0 && !k->zero_ok)
			FAIL("%s: %s: must be > 0", path, key);
		if (k->kind == J_SIZE) {
			if ((uint64_t)v > PROFILE_MAX_MIB)
				FAIL("%s: %s: %" JSON_INTEGER_FORMAT " MiB is larger than the %" PRIu64 " MiB limit",
				     path, key, v, PROFILE_MAX_MIB);
			uint64_t bytes = (uint64_t)v * MIB;
			memcpy((char *)&p + k->off, &bytes, sizeof(bytes));
		} else {
			if ((uint64_t)v > UINT32_MAX)
				FAIL("%s: %s: %" JSON_INTEGER_FORMAT " does not fit in 32 bits", path, key, v);
			uint32_t u = (uint32_t)v;
			memcpy((char *)&p + k->off, &u, sizeof(u));
		}
	}
#undef FAIL

	char verr[384];
	ret = vidmm_profile_validate(&p, verr, sizeof(verr));
	if (ret) {
		seterr(err, err_len, "%s: %s", path, verr);
		goto out;
	}
	*out = p;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int vidmm_profile_resolve(const char *name_or_path, struct vidmm_profile *out, char *err,
			  size_t err_len)
{
	if (!name_or_path || !out) {
		seterr(err, err_len, "profile: NULL name or output");
		return -EINVAL;
	}
	size_t len = strlen(name_or_path);
	if ((len > 5 && strcmp(name_or_path + len - 5, ".json") == 0) || strchr(name_or_path, '/'))
		return vidmm_profile_load(name_or_path, out, err, err_len);
	if (vidmm_profile_builtin(name_or_path, out) != 0) {
		seterr(err, err_len, "profile \"%s\": not a built-in profile (tiny, default, arise) "
		       "nor a .json path", name_or_path);
		return -ENOENT;
	}
	return 0;
}
