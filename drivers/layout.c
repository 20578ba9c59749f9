/* SPDX-License-Identifier: MIT */
/*
 * layout.c - the segment and GART descriptions both chips give the core
 * (see layout.h). Owns nothing else.
 */
#include "layout.h"

#include <errno.h>
#include <stddef.h>

uint64_t chip_layout_pcie_base(uint64_t local_size)
{
	if (local_size <= CHIP_PCIE_BASE)
		return CHIP_PCIE_BASE;
	return (local_size + CHIP_PCIE_BASE - 1) & ~(CHIP_PCIE_BASE - 1);
}

int chip_layout_segments(const struct vidmm_profile *p, uint64_t pcie_base,
			 struct vidmm_chip_segment_desc *out, uint32_t max, uint32_t *count)
{
	struct vidmm_chip_segment_desc all[4] = {
		{ "local-visible", 0, p->local_visible, VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE },
		{ "local-invisible", p->local_visible, p->local_invisible, VIDMM_SEG_LOCAL },
		{ "pcie-snooped", pcie_base, p->pcie_snooped,
		  VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_CPU_VISIBLE },
		{ "pcie-unsnooped", pcie_base + p->pcie_snooped, p->pcie_unsnooped,
		  VIDMM_SEG_PCIE | VIDMM_SEG_CPU_VISIBLE },
	};
	uint32_t n = 0;

	if (!out || !count)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (!all[i].size)
			continue;
		if (n == max)
			return -ENOSPC;
		out[n++] = all[i];
	}
	*count = n;
	return 0;
}

void chip_layout_gart(const struct vidmm_profile *p, uint64_t pcie_base,
		      struct vidmm_chip_gart_geometry *out)
{
	*out = (struct vidmm_chip_gart_geometry){
		.base = pcie_base,
		.size = p->pcie_snooped + p->pcie_unsnooped,
		.page_shift = (uint32_t)__builtin_ctz(p->page_size),
		.entry_bytes = p->gart_entry_bytes,
		.levels = 3,
		.entries_per_table = p->page_size / p->gart_entry_bytes,
		.l1_entries = CHIP_L1_REGS,
		.addr_shift = CHIP_PTE_SHIFT,
		.valid_bit = CHIP_PTE_VALID,
		.snoop_bit = CHIP_PTE_SNOOP,
		.mmio_l1_base = CHIP_MMIO_MMU_START_ADDRESS,
		.mmio_dummy_pfn = CHIP_MMIO_MMU_DUMMY_PFN,
		.mmio_inval_first = CHIP_MMIO_MMU_INVAL_FIRST,
		.mmio_inval_count = CHIP_MMIO_MMU_INVAL_COUNT,
		.mmio_inval_trigger = CHIP_MMIO_MMU_INVAL_TRIGGER,
		.mmio_enable = CHIP_MMIO_MMU_ENABLE,
	};
}
