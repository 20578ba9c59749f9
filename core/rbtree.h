/* SPDX-License-Identifier: MIT */
/*
 * rbtree.h - an intrusive red-black tree with optional augmentation, in the
 * style of the Linux kernel's lib/rbtree.c.
 *
 * Owns: the balancing of a binary search tree whose nodes are embedded in the
 * caller's structures, and the hooks that keep a per-subtree summary (an
 * "augmented" value such as the largest hole below a node) correct across
 * rotations.
 * Must not: know the caller's key, compare anything, allocate memory, or know
 * what the augmented value means. Searching and linking in key order is the
 * caller's job (it walks the tree with rb_left/rb_right and calls
 * rb_link_node), exactly as with the kernel's rbtree.
 *
 * Invariants of a valid tree (rb_check verifies all of them):
 *   1. every node is red or black; the root is black;
 *   2. a red node has no red child;
 *   3. every path from a node down to a NULL child crosses the same number of
 *      black nodes (so the height is at most 2*log2(n+1));
 *   4. each child's parent pointer names its parent; the root's is NULL;
 *   5. the in-order sequence is strictly increasing under the caller's order
 *      (the caller keeps this by linking at the right place; rb_check can only
 *      verify it given a comparison function).
 * For an augmented tree, in addition, every node's augmented value equals the
 * value computed from the node and its children's augmented values. The
 * callbacks below are how the tree keeps that true while it restructures.
 */
#ifndef VIDMM_RBTREE_H
#define VIDMM_RBTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A node. The parent pointer and the colour share one word (nodes are at least
 * pointer-aligned, so bit 0 is free): this keeps a node at three words, which
 * matters when every hole carries two of them.
 */
struct rb_node {
	uintptr_t rb_parent_color;
	struct rb_node *rb_right;
	struct rb_node *rb_left;
};

struct rb_root {
	struct rb_node *rb_node;
};

#define RB_ROOT_INIT { NULL }

#define RB_RED 0u
#define RB_BLACK 1u

/* The structure of type `type` whose member `member` is at ptr. */
#define rb_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
/* As rb_entry, but NULL stays NULL. */
#define rb_entry_safe(ptr, type, member) \
	((ptr) ? rb_entry(ptr, type, member) : (type *)NULL)

/* Parent of n, or NULL for the root. */
static inline struct rb_node *rb_parent(const struct rb_node *n)
{
	return (struct rb_node *)(n->rb_parent_color & ~(uintptr_t)3);
}

/* True if n is red (a NULL child counts as black; do not pass NULL). */
static inline bool rb_is_red(const struct rb_node *n)
{
	return !(n->rb_parent_color & RB_BLACK);
}

/* True if n is black. */
static inline bool rb_is_black(const struct rb_node *n)
{
	return (n->rb_parent_color & RB_BLACK) != 0;
}

/* True if the tree has no node. */
static inline bool rb_empty(const struct rb_root *root)
{
	return root->rb_node == NULL;
}

/*
 * Attach node, as a red leaf, at *link, which must be the NULL child pointer
 * of parent (or &root->rb_node with parent NULL) found by the caller's search.
 * The tree is unbalanced until rb_insert_color / rb_insert_augmented runs.
 */
static inline void rb_link_node(struct rb_node *node, struct rb_node *parent,
				struct rb_node **link)
{
	node->rb_parent_color = (uintptr_t)parent;
	node->rb_left = NULL;
	node->rb_right = NULL;
	*link = node;
}

/*
 * Augmentation callbacks. The tree calls them while it restructures; they must
 * only read and write the caller's augmented values, never relink nodes.
 *
 * propagate(start, stop): recompute the value of start, then of each ancestor
 *   in turn, stopping before stop (which may be NULL for "up to the root").
 *   It may stop early once a recomputed value is unchanged: every caller in
 *   this file guarantees that the ancestors were correct before the change.
 * copy(old, new): new has taken old's place with old's whole subtree below it;
 *   give new old's value.
 * rotate(old, new): a rotation has made new the parent of old, new in old's
 *   former place; give new old's former value (same set of nodes below) and
 *   recompute old from its new children.
 */
struct rb_augment_callbacks {
	void (*propagate)(struct rb_node *start, struct rb_node *stop);
	void (*copy)(struct rb_node *old, struct rb_node *new_node);
	void (*rotate)(struct rb_node *old, struct rb_node *new_node);
};

/*
 * Rebalance after rb_link_node in a plain (non-augmented) tree. O(log n),
 * at most two rotations.
 */
void rb_insert_color(struct rb_node *node, struct rb_root *root);

/* Remove node from a plain tree. O(log n), at most three rotations. The node's
 * own fields are left stale; it may be linked again afterwards. */
void rb_erase(struct rb_node *node, struct rb_root *root);

/*
 * Rebalance after rb_link_node in an augmented tree. Before calling, the
 * caller must have set node's own augmented value as a leaf (it has no
 * children yet); this function brings the ancestors up to date
 * (cb->propagate from the parent) and then rebalances, calling cb->rotate for
 * each rotation.
 */
void rb_insert_augmented(struct rb_node *node, struct rb_root *root,
			 const struct rb_augment_callbacks *cb);

/*
 * Remove node from an augmented tree, keeping every remaining node's
 * augmented value correct (cb->copy, cb->propagate, cb->rotate).
 */
void rb_erase_augmented(struct rb_node *node, struct rb_root *root,
			const struct rb_augment_callbacks *cb);

/* In-order first / last node, or NULL for an empty tree. O(log n). */
struct rb_node *rb_first(const struct rb_root *root);
struct rb_node *rb_last(const struct rb_root *root);

/* In-order successor / predecessor, or NULL. O(log n) worst, O(1) amortised
 * over a full walk. */
struct rb_node *rb_next(const struct rb_node *node);
struct rb_node *rb_prev(const struct rb_node *node);

/*
 * Verify invariants 1-5 above on the whole tree. cmp (may be NULL to skip the
 * order check) returns <0, 0, >0 as a sorts before, equal to, after b; the
 * in-order sequence must be strictly increasing. node_ok (may be NULL) is
 * called for every node to check caller-level facts, such as the augmented
 * value; it returns 0 or writes a reason and returns non-zero.
 * Returns the number of nodes (>= 0), or -EUCLEAN with a one-line reason in
 * why (if non-NULL). Recursive, O(n); for tests and checkers, not hot paths.
 */
long rb_check(const struct rb_root *root,
	      int (*cmp)(const struct rb_node *a, const struct rb_node *b),
	      int (*node_ok)(const struct rb_node *n, char *why, size_t why_len),
	      char *why, size_t why_len);

#endif /* VIDMM_RBTREE_H */
