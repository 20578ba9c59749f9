/* SPDX-License-Identifier: MIT */
/*
 * emu.h - the emulated GPU: a chip-layer backend (struct vidmm_chip_ops) built
 * from a profile.
 *
 * Owns: the emulated local memory (a sparse host mapping), the emulated host
 * RAM pool that GART entries point into, the MMIO register file, the MMU (an
 * L1 -> L2 -> L3 walk for every GPU access to the PCIe aperture) and its TLB,
 * and the engines that execute copy and fill commands through the MMU.
 *
 * Must not: include anything from core/. It only knows the chip contract.
 *
 * GPU address map: local memory at [0, local_visible + local_invisible),
 * visible part first; the PCIe aperture (snooped half, then unsnooped half) at
 * EMU_PCIE_BASE or higher (see emu_pcie_base()).
 */
#ifndef VIDMM_EMU_H
#define VIDMM_EMU_H

#include <stddef.h>
#include <stdint.h>

#include "../chip.h"
#include "../profile.h"

/* MMIO register map of the emulated chip (byte offsets, 32-bit registers). */
#define EMU_MMIO_ID                 0x0000 /* reads EMU_CHIP_ID */
#define EMU_MMIO_MMU_ENABLE         0x0010
#define EMU_MMIO_MMU_DUMMY_PFN      0x0014
#define EMU_MMIO_MMU_INVAL_FIRST    0x0018
#define EMU_MMIO_MMU_INVAL_COUNT    0x001c
#define EMU_MMIO_MMU_INVAL_TRIGGER  0x0020
#define EMU_MMIO_MMU_START_ADDRESS  0x1000 /* L1 entries, one register each */
#define EMU_MMIO_SIZE               0x2000
#define EMU_CHIP_ID                 0x56494d4du /* "VIMM" */

/* GART entry format of the emulated chip (all levels). */
#define EMU_PTE_VALID  0x1u
#define EMU_PTE_SNOOP  0x2u
#define EMU_PTE_SHIFT  4 /* frame number at bits [entry_bits-1 : 4] */

#define EMU_PCIE_BASE  (1ull << 40)

struct emu;

extern const struct vidmm_chip_ops emu_chip_ops;

/* Build an emulated GPU from a validated profile. The emu pointer is the ctx
 * argument of every op in emu_chip_ops. */
int emu_create(const struct vidmm_profile *p, struct emu **out);
void emu_destroy(struct emu *e);

uint64_t emu_pcie_base(const struct emu *e);

/*
 * GPU-side accesses for tests and the job engine: read or write len bytes at a
 * GPU address through the MMU and TLB exactly as an engine would (faults and
 * dummy-page hits are counted). Returns 0 or -EFAULT for addresses outside
 * every segment.
 */
int emu_gpu_read(struct emu *e, uint64_t gpu_addr, void *dst, size_t len);
int emu_gpu_write(struct emu *e, uint64_t gpu_addr, const void *src, size_t len);

/*
 * Translate one GPU address of the PCIe aperture with a fresh page-table walk
 * (no TLB), for tests: *pfn is the system frame the L3 entry names. Returns 0,
 * -EFAULT (outside the aperture) or -ENOENT (an invalid L1/L2/L3 entry).
 */
int emu_walk(struct emu *e, uint64_t gpu_addr, uint64_t *pfn);

/* Host pointer of a system frame of the emulated RAM pool (tests). */
void *emu_pfn_to_host(struct emu *e, uint64_t pfn);

#endif /* VIDMM_EMU_H */
