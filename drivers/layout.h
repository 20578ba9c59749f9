/* SPDX-License-Identifier: MIT */
/*
 * layout.h - the address map, register map and GART entry format that this
 * project's chips present to the core: the emulator (drivers/emu) and the
 * Vulkan driver (drivers/vulkan) show the core the same chip, so a trace, a
 * test or a GART bug means the same on both.
 *
 * Owns: those constants and the segment and GART descriptions built from a
 * profile. Must not: hold state, or know either driver's internals.
 *
 * GPU address map: local memory at [0, local_visible + local_invisible),
 * visible part first; the PCIe aperture (snooped half, then unsnooped half)
 * at CHIP_PCIE_BASE, or the next 1 TiB boundary above local memory.
 */
#ifndef VIDMM_LAYOUT_H
#define VIDMM_LAYOUT_H

#include <stdint.h>

#include "chip.h"
#include "profile.h"

/* MMIO register map (byte offsets, 32-bit registers). */
#define CHIP_MMIO_ID                0x0000 /* reads the chip's id */
#define CHIP_MMIO_MMU_ENABLE        0x0010
#define CHIP_MMIO_MMU_DUMMY_PFN     0x0014
#define CHIP_MMIO_MMU_INVAL_FIRST   0x0018
#define CHIP_MMIO_MMU_INVAL_COUNT   0x001c
#define CHIP_MMIO_MMU_INVAL_TRIGGER 0x0020
#define CHIP_MMIO_MMU_START_ADDRESS 0x1000 /* L1 entries, one register each */
#define CHIP_MMIO_SIZE              0x2000
#define CHIP_L1_REGS ((CHIP_MMIO_SIZE - CHIP_MMIO_MMU_START_ADDRESS) / 4)

/* GART entry format (all levels). */
#define CHIP_PTE_VALID 0x1u
#define CHIP_PTE_SNOOP 0x2u
#define CHIP_PTE_SHIFT 4 /* frame number at bits [entry_bits-1 : 4] */

#define CHIP_PCIE_BASE (1ull << 40)

/* Where the aperture starts for this much local memory. */
uint64_t chip_layout_pcie_base(uint64_t local_size);

/* The segments of a chip built from p (query_segments): local visible,
 * local invisible, PCIe snooped, PCIe unsnooped, leaving out empty ones.
 * 0, -EINVAL (NULL out or count) or -ENOSPC (max too small). */
int chip_layout_segments(const struct vidmm_profile *p, uint64_t pcie_base,
			 struct vidmm_chip_segment_desc *out, uint32_t max, uint32_t *count);

/* The GART of a chip built from p (query_gart). */
void chip_layout_gart(const struct vidmm_profile *p, uint64_t pcie_base,
		      struct vidmm_chip_gart_geometry *out);

#endif /* VIDMM_LAYOUT_H */
