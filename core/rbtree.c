/* SPDX-License-Identifier: MIT */
/*
 * rbtree.c - red-black tree balancing (see rbtree.h for the API and the
 * invariants).
 *
 * Owns: insertion and erase rebalancing, in-order stepping, and the checker.
 * Must not: know any caller's key or augmented value (those are reached only
 * through struct rb_augment_callbacks), allocate memory, or print.
 *
 * The algorithm is the one of the Linux kernel's lib/rbtree.c (parent and
 * colour in one word, the insert and erase case analysis, the three
 * augmentation hooks); the code is a fresh rendering of it. The workers are
 * static inline and take the callbacks as parameters so that the plain
 * (non-augmented) entry points compile with the no-op hooks folded away.
 */
#include "rbtree.h"

#include <errno.h>
#include <stdio.h>

static inline void rb_set_parent(struct rb_node *n, struct rb_node *p)
{
	n->rb_parent_color = (n->rb_parent_color & 3) | (uintptr_t)p;
}

static inline void rb_set_parent_color(struct rb_node *n, struct rb_node *p,
				       unsigned int color)
{
	n->rb_parent_color = (uintptr_t)p | color;
}

static inline void rb_set_black(struct rb_node *n)
{
	n->rb_parent_color |= RB_BLACK;
}

/* Make parent (or the root) point at new_node where it pointed at old. */
static inline void rb_change_child(struct rb_node *old, struct rb_node *new_node,
				   struct rb_node *parent, struct rb_root *root)
{
	if (parent) {
		if (parent->rb_left == old)
			parent->rb_left = new_node;
		else
			parent->rb_right = new_node;
	} else {
		root->rb_node = new_node;
	}
}

/*
 * Second half of a rotation: new_node takes old's parent and colour, old
 * becomes new_node's child with the given colour.
 */
static inline void rb_rotate_set_parents(struct rb_node *old, struct rb_node *new_node,
					 struct rb_root *root, unsigned int color)
{
	struct rb_node *parent = rb_parent(old);

	new_node->rb_parent_color = old->rb_parent_color;
	rb_set_parent_color(old, new_node, color);
	rb_change_child(old, new_node, parent, root);
}

static void dummy_propagate(struct rb_node *s, struct rb_node *e) { (void)s; (void)e; }
static void dummy_copy(struct rb_node *o, struct rb_node *n) { (void)o; (void)n; }
static void dummy_rotate(struct rb_node *o, struct rb_node *n) { (void)o; (void)n; }

static inline void do_insert(struct rb_node *node, struct rb_root *root,
			     void (*augment_rotate)(struct rb_node *, struct rb_node *))
{
	struct rb_node *parent = rb_parent(node), *gparent, *tmp;

	for (;;) {
		/* node is red here; only a red parent breaks invariant 2. */
		if (!parent) {
			rb_set_parent_color(node, NULL, RB_BLACK);
			break;
		}
		if (rb_is_black(parent))
			break;
		gparent = rb_parent(parent); /* exists: a red node is never the root */
		tmp = gparent->rb_right;
		if (parent != tmp) { /* parent is gparent's left child */
			if (tmp && rb_is_red(tmp)) {
				/* Red uncle: recolour and retry two levels up. */
				rb_set_parent_color(tmp, gparent, RB_BLACK);
				rb_set_parent_color(parent, gparent, RB_BLACK);
				node = gparent;
				parent = rb_parent(node);
				rb_set_parent_color(node, parent, RB_RED);
				continue;
			}
			tmp = parent->rb_right;
			if (node == tmp) {
				/* Inner grandchild: rotate left at parent to make it outer. */
				tmp = node->rb_left;
				parent->rb_right = tmp;
				node->rb_left = parent;
				if (tmp)
					rb_set_parent_color(tmp, parent, RB_BLACK);
				rb_set_parent_color(parent, node, RB_RED);
				augment_rotate(parent, node);
				parent = node;
				tmp = node->rb_right;
			}
			/* Outer grandchild: rotate right at gparent. */
			gparent->rb_left = tmp;
			parent->rb_right = gparent;
			if (tmp)
				rb_set_parent_color(tmp, gparent, RB_BLACK);
			rb_rotate_set_parents(gparent, parent, root, RB_RED);
			augment_rotate(gparent, parent);
			break;
		} else { /* mirror image */
			tmp = gparent->rb_left;
			if (tmp && rb_is_red(tmp)) {
				rb_set_parent_color(tmp, gparent, RB_BLACK);
				rb_set_parent_color(parent, gparent, RB_BLACK);
				node = gparent;
				parent = rb_parent(node);
				rb_set_parent_color(node, parent, RB_RED);
				continue;
			}
			tmp = parent->rb_left;
			if (node == tmp) {
				tmp = node->rb_right;
				parent->rb_left = tmp;
				node->rb_right = parent;
				if (tmp)
					rb_set_parent_color(tmp, parent, RB_BLACK);
				rb_set_parent_color(parent, node, RB_RED);
				augment_rotate(parent, node);
				parent = node;
				tmp = node->rb_left;
			}
			gparent->rb_right = tmp;
			parent->rb_left = gparent;
			if (tmp)
				rb_set_parent_color(tmp, gparent, RB_BLACK);
			rb_rotate_set_parents(gparent, parent, root, RB_RED);
			augment_rotate(gparent, parent);
			break;
		}
	}
}

/*
 * Restore invariant 3 after a black node was removed below parent: every path
 * through parent's (now shorter) child side is one black node short.
 */
static inline void erase_color(struct rb_node *parent, struct rb_root *root,
			       void (*augment_rotate)(struct rb_node *, struct rb_node *))
{
	struct rb_node *node = NULL, *sibling, *tmp1, *tmp2;

	for (;;) {
		/*
		 * node is black or NULL, is not the root, and every path through
		 * it is one black short of the paths through its sibling.
		 */
		sibling = parent->rb_right;
		if (node != sibling) { /* node is parent's left child */
			if (rb_is_red(sibling)) {
				/* Red sibling: rotate left at parent so the sibling is black. */
				tmp1 = sibling->rb_left;
				parent->rb_right = tmp1;
				sibling->rb_left = parent;
				rb_set_parent_color(tmp1, parent, RB_BLACK);
				rb_rotate_set_parents(parent, sibling, root, RB_RED);
				augment_rotate(parent, sibling);
				sibling = tmp1;
			}
			tmp1 = sibling->rb_right;
			if (!tmp1 || rb_is_black(tmp1)) {
				tmp2 = sibling->rb_left;
				if (!tmp2 || rb_is_black(tmp2)) {
					/* Black sibling with black children: make it red,
					 * which shortens its side too, and push the deficit
					 * up (or absorb it in a red parent). */
					rb_set_parent_color(sibling, parent, RB_RED);
					if (rb_is_red(parent)) {
						rb_set_black(parent);
					} else {
						node = parent;
						parent = rb_parent(node);
						if (parent)
							continue;
					}
					break;
				}
				/* Inner nephew red: rotate right at sibling to make the
				 * red nephew the outer one; the next step recolours. */
				tmp1 = tmp2->rb_right;
				sibling->rb_left = tmp1;
				tmp2->rb_right = sibling;
				parent->rb_right = tmp2;
				if (tmp1)
					rb_set_parent_color(tmp1, sibling, RB_BLACK);
				augment_rotate(sibling, tmp2);
				tmp1 = sibling;
				sibling = tmp2;
			}
			/* Outer nephew red: rotate left at parent and recolour;
			 * this adds the missing black on node's side. */
			tmp2 = sibling->rb_left;
			parent->rb_right = tmp2;
			sibling->rb_left = parent;
			rb_set_parent_color(tmp1, sibling, RB_BLACK);
			if (tmp2)
				rb_set_parent(tmp2, parent);
			rb_rotate_set_parents(parent, sibling, root, RB_BLACK);
			augment_rotate(parent, sibling);
			break;
		} else { /* mirror image */
			sibling = parent->rb_left;
			if (rb_is_red(sibling)) {
				tmp1 = sibling->rb_right;
				parent->rb_left = tmp1;
				sibling->rb_right = parent;
				rb_set_parent_color(tmp1, parent, RB_BLACK);
				rb_rotate_set_parents(parent, sibling, root, RB_RED);
				augment_rotate(parent, sibling);
				sibling = tmp1;
			}
			tmp1 = sibling->rb_left;
			if (!tmp1 || rb_is_black(tmp1)) {
				tmp2 = sibling->rb_right;
				if (!tmp2 || rb_is_black(tmp2)) {
					rb_set_parent_color(sibling, parent, RB_RED);
					if (rb_is_red(parent)) {
						rb_set_black(parent);
					} else {
						node = parent;
						parent = rb_parent(node);
						if (parent)
							continue;
					}
					break;
				}
				tmp1 = tmp2->rb_left;
				sibling->rb_right = tmp1;
				tmp2->rb_left = sibling;
				parent->rb_left = tmp2;
				if (tmp1)
					rb_set_parent_color(tmp1, sibling, RB_BLACK);
				augment_rotate(sibling, tmp2);
				tmp1 = sibling;
				sibling = tmp2;
			}
			tmp2 = sibling->rb_right;
			parent->rb_left = tmp2;
			sibling->rb_right = parent;
			rb_set_parent_color(tmp1, sibling, RB_BLACK);
			if (tmp2)
				rb_set_parent(tmp2, parent);
			rb_rotate_set_parents(parent, sibling, root, RB_BLACK);
			augment_rotate(parent, sibling);
			break;
		}
	}
}

/*
 * Unlink node, keeping augmented values right; returns the node below which a
 * black was lost (to be handed to erase_color), or NULL if colours could be
 * fixed locally.
 */
static inline struct rb_node *
do_erase(struct rb_node *node, struct rb_root *root,
	 void (*propagate)(struct rb_node *, struct rb_node *),
	 void (*copy)(struct rb_node *, struct rb_node *))
{
	struct rb_node *child = node->rb_right;
	struct rb_node *tmp = node->rb_left;
	struct rb_node *parent, *rebalance;
	uintptr_t pc;

	if (!tmp) {
		/*
		 * At most one (right) child. If there is one it is red and node
		 * is black (invariant 3), so the child takes node's colour and
		 * nothing else changes.
		 */
		pc = node->rb_parent_color;
		parent = (struct rb_node *)(pc & ~(uintptr_t)3);
		rb_change_child(node, child, parent, root);
		if (child) {
			child->rb_parent_color = pc;
			rebalance = NULL;
		} else {
			rebalance = (pc & RB_BLACK) ? parent : NULL;
		}
		tmp = parent;
	} else if (!child) {
		/* Only a left child: same as above. */
		tmp->rb_parent_color = pc = node->rb_parent_color;
		parent = (struct rb_node *)(pc & ~(uintptr_t)3);
		rb_change_child(node, tmp, parent, root);
		rebalance = NULL;
		tmp = parent;
	} else {
		/* Two children: the in-order successor takes node's place. */
		struct rb_node *successor = child, *child2;

		tmp = child->rb_left;
		if (!tmp) {
			/* The successor is node's right child. */
			parent = successor;
			child2 = successor->rb_right;
			copy(node, successor);
		} else {
			/* The successor is the leftmost node below the right child. */
			do {
				parent = successor;
				successor = tmp;
				tmp = tmp->rb_left;
			} while (tmp);
			child2 = successor->rb_right;
			parent->rb_left = child2;
			successor->rb_right = child;
			rb_set_parent(child, successor);
			copy(node, successor);
			propagate(parent, successor);
		}

		tmp = node->rb_left;
		successor->rb_left = tmp;
		rb_set_parent(tmp, successor);

		pc = node->rb_parent_color;
		tmp = (struct rb_node *)(pc & ~(uintptr_t)3);
		rb_change_child(node, successor, tmp, root);

		if (child2) {
			/* The successor's only child is red: blacken it in place. */
			rb_set_parent_color(child2, parent, RB_BLACK);
			rebalance = NULL;
		} else {
			rebalance = rb_is_black(successor) ? parent : NULL;
		}
		successor->rb_parent_color = pc;
		tmp = successor;
	}

	propagate(tmp, NULL);
	return rebalance;
}

void rb_insert_color(struct rb_node *node, struct rb_root *root)
{
	do_insert(node, root, dummy_rotate);
}

void rb_erase(struct rb_node *node, struct rb_root *root)
{
	struct rb_node *rebalance = do_erase(node, root, dummy_propagate, dummy_copy);

	if (rebalance)
		erase_color(rebalance, root, dummy_rotate);
}

void rb_insert_augmented(struct rb_node *node, struct rb_root *root,
			 const struct rb_augment_callbacks *cb)
{
	struct rb_node *parent = rb_parent(node);

	if (parent)
		cb->propagate(parent, NULL);
	do_insert(node, root, cb->rotate);
}

void rb_erase_augmented(struct rb_node *node, struct rb_root *root,
			const struct rb_augment_callbacks *cb)
{
	struct rb_node *rebalance = do_erase(node, root, cb->propagate, cb->copy);

	if (rebalance)
		erase_color(rebalance, root, cb->rotate);
}

struct rb_node *rb_first(const struct rb_root *root)
{
	struct rb_node *n = root->rb_node;

	if (!n)
		return NULL;
	while (n->rb_left)
		n = n->rb_left;
	return n;
}

struct rb_node *rb_last(const struct rb_root *root)
{
	struct rb_node *n = root->rb_node;

	if (!n)
		return NULL;
	while (n->rb_right)
		n = n->rb_right;
	return n;
}

struct rb_node *rb_next(const struct rb_node *node)
{
	struct rb_node *parent;

	if (node->rb_right) {
		node = node->rb_right;
		while (node->rb_left)
			node = node->rb_left;
		return (struct rb_node *)node;
	}
	/* Climb while we are a right child; the first left-child step's
	 * parent is the successor. */
	while ((parent = rb_parent(node)) && node == parent->rb_right)
		node = parent;
	return parent;
}

struct rb_node *rb_prev(const struct rb_node *node)
{
	struct rb_node *parent;

	if (node->rb_left) {
		node = node->rb_left;
		while (node->rb_right)
			node = node->rb_right;
		return (struct rb_node *)node;
	}
	while ((parent = rb_parent(node)) && node == parent->rb_left)
		node = parent;
	return parent;
}

/* ---- checker ---- */

struct check_ctx {
	int (*cmp)(const struct rb_node *, const struct rb_node *);
	int (*node_ok)(const struct rb_node *, char *, size_t);
	const struct rb_node *prev; /* in-order predecessor of the next visit */
	long count;
	char *why;
	size_t why_len;
};

static int check_fail(struct check_ctx *c, const char *msg, const struct rb_node *n)
{
	if (c->why && c->why_len)
		snprintf(c->why, c->why_len, "rbtree: %s (node %p)", msg, (const void *)n);
	return -EUCLEAN;
}

/* Returns the black height of the subtree at n (NULL counts 1), or -EUCLEAN. */
static long check_subtree(struct check_ctx *c, const struct rb_node *n,
			  const struct rb_node *parent, unsigned depth)
{
	long lh, rh;

	if (!n)
		return 1;
	/* A valid tree of 2^64 nodes is at most 128 deep: anything deeper is a cycle. */
	if (depth > 128)
		return check_fail(c, "too deep (cycle?)", n);
	if (rb_parent(n) != parent)
		return check_fail(c, "parent pointer does not match", n);
	if (n->rb_parent_color & 2)
		return check_fail(c, "stray bit in parent/colour word", n);
	if (rb_is_red(n) && ((n->rb_left && rb_is_red(n->rb_left)) ||
			     (n->rb_right && rb_is_red(n->rb_right))))
		return check_fail(c, "red node with a red child", n);

	lh = check_subtree(c, n->rb_left, n, depth + 1);
	if (lh < 0)
		return lh;

	if (c->cmp && c->prev && c->cmp(c->prev, n) >= 0)
		return check_fail(c, "in-order sequence not strictly increasing", n);
	c->prev = n;
	c->count++;
	if (c->node_ok && c->node_ok(n, c->why, c->why_len))
		return -EUCLEAN;

	rh = check_subtree(c, n->rb_right, n, depth + 1);
	if (rh < 0)
		return rh;
	if (lh != rh)
		return check_fail(c, "black heights of the two subtrees differ", n);
	return lh + (rb_is_black(n) ? 1 : 0);
}

long rb_check(const struct rb_root *root,
	      int (*cmp)(const struct rb_node *a, const struct rb_node *b),
	      int (*node_ok)(const struct rb_node *n, char *why, size_t why_len),
	      char *why, size_t why_len)
{
	struct check_ctx c = { cmp, node_ok, NULL, 0, why, why_len };
	long bh;

	if (root->rb_node && !rb_is_black(root->rb_node))
		return check_fail(&c, "root is red", root->rb_node);
	bh = check_subtree(&c, root->rb_node, NULL, 0);
	if (bh < 0)
		return bh;
	return c.count;
}
