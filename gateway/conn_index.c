/*
 * conn_index — see conn_index.h.
 *
 * Layout, chosen for memory per connection (a gateway holds ~200k):
 *
 *   - Connections ("entries", 32 bytes) and interned names ("keys", 32 bytes)
 *     live in slabs: chunks of fixed-size items addressed by a 32-bit ref
 *     (ref 0 means none), reused through a free list. Items never move, so
 *     refs and borrowed name pointers stay valid, and there is no malloc
 *     header or rounding per item.
 *   - Three open-addressing hash tables (id → entry, uid name → key, group
 *     name → key) hold only refs: 4 bytes a slot. Linear probing, load at
 *     most 3/4, backward-shift deletion (no tombstones), shrink below 1/8.
 *     A probe compares by looking at the item; the hash is recomputed when a
 *     slot moves, which is cheap for ids and short names.
 *   - A key's member set is an array of entry refs, the single-member case
 *     held inline (most uids have one connection). Each membership stores its
 *     position in that array (entry.uid_pos, membership.pos), so removal is a
 *     swap with the last member plus one back-position fix: O(1) whatever the
 *     group size, at 4 bytes per member. A hash set would cost several times
 *     that per member for the same O(1), and broadcast iterates a plain array.
 *   - An entry lists its own groups (inline when there is one); finding a
 *     group there is a linear scan, so join/leave/remove are linear in the
 *     number of groups of one connection, which the gateway keeps small.
 *
 * Not done: slabs keep their high-water mark (freed items are reused, not
 * returned); names are hashed without a secret seed, so uids and groups are
 * assumed to come from the application, not from arbitrary clients.
 */
#include "gateway/conn_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xmalloc.h"

#define SLAB_SHIFT 8 /* 256 items per chunk */
#define SLAB_ITEMS (1u << SLAB_SHIFT)
#define TABLE_MIN 16
#define KEY_INLINE 16 /* names up to this many bytes are stored in the key */
#define MEMBERS_MIN 4
#define GROUPS_MIN 4
#define MEMBERS_MAX 0x7fffffffu /* positions must fit entry.uid_pos */

/* Fixed-size items addressed by ref; ref 0 is never handed out. */
struct slab {
	char **chunk;
	size_t size;     /* bytes per item */
	uint32_t nchunk;
	uint32_t top;    /* refs below top have been handed out */
	uint32_t free;   /* free list head (next ref in an item's first bytes) */
};

typedef uint64_t ref_hash_fn(const struct conn_index *ix, uint32_t ref);

/* Set of refs; slot 0 = empty. */
struct table {
	uint32_t *slot;
	uint32_t mask; /* capacity - 1, capacity a power of two */
	uint32_t n;
	ref_hash_fn *hash;
};

/* A connection's place in one group. */
struct membership {
	uint32_t key; /* the group's key ref */
	uint32_t pos; /* index of the connection in the group's member set */
};

/* The group list of a connection in two or more groups. */
struct groupset {
	uint32_t n;
	uint32_t cap;
	struct membership v[];
};

struct entry {
	uint64_t id;
	void *conn;
	uint32_t uid;          /* key ref, 0 = no uid */
	unsigned uid_pos : 31; /* index in the uid's member set */
	unsigned many : 1;     /* groups are in g.many */
	union {
		struct membership one;  /* !many: the only group; key 0 = none */
		struct groupset *many;
	} g;
};

/* Member array of a key with two or more members. */
struct members {
	uint32_t cap;
	uint32_t ref[]; /* entry refs */
};

/* An interned uid or group name and the connections that have it. */
struct key {
	union {
		uint32_t one;          /* n == 1: the member's entry ref */
		struct members *many;  /* n >= 2 */
	} m;
	uint32_t n;   /* members; the key exists only while n > 0 */
	uint32_t len;
	union {
		char in[KEY_INLINE]; /* len <= KEY_INLINE */
		char *out;           /* xmalloc'd */
	} name;
};

/* The sizes the per-connection figures in conn_index_test.c rest on. */
_Static_assert(sizeof(struct entry) <= 32, "entry grew");
_Static_assert(sizeof(struct key) <= 32, "key grew");

struct conn_index {
	struct slab ents;
	struct slab keys;
	struct table ids;
	struct table uids;
	struct table groups;
};

/* --- slabs --- */

static void
slab_init(struct slab *s, size_t size)
{
	s->chunk = NULL;
	s->size = size;
	s->nchunk = 0;
	s->top = 1;
	s->free = 0;
}

static void
slab_fini(struct slab *s)
{
	for (uint32_t i = 0; i < s->nchunk; i++)
		free(s->chunk[i]);
	free(s->chunk);
}

static void *
slab_at(const struct slab *s, uint32_t ref)
{
	return s->chunk[ref >> SLAB_SHIFT] + (size_t)(ref & (SLAB_ITEMS - 1)) * s->size;
}

static uint32_t
slab_alloc(struct slab *s)
{
	uint32_t ref = s->free;
	if (ref != 0) {
		memcpy(&s->free, slab_at(s, ref), sizeof s->free);
		return ref;
	}
	if (s->top == UINT32_MAX)
		abort(); /* 4 billion items: the process limits were not applied */
	if ((s->top >> SLAB_SHIFT) == s->nchunk) {
		s->chunk = xrealloc(s->chunk, (s->nchunk + 1) * sizeof *s->chunk);
		s->chunk[s->nchunk++] = xmalloc(SLAB_ITEMS * s->size);
	}
	return s->top++;
}

static void
slab_free(struct slab *s, uint32_t ref)
{
	memcpy(slab_at(s, ref), &s->free, sizeof s->free);
	s->free = ref;
}

static struct entry *
ent(const struct conn_index *ix, uint32_t ref)
{
	return slab_at(&ix->ents, ref);
}

static struct key *
key_at(const struct conn_index *ix, uint32_t ref)
{
	return slab_at(&ix->keys, ref);
}

static const char *
key_name(const struct key *k)
{
	return k->len <= KEY_INLINE ? k->name.in : k->name.out;
}

static uint64_t
entry_hash(const struct conn_index *ix, uint32_t ref)
{
	return hash_mix64(ent(ix, ref)->id);
}

static uint64_t
key_hash(const struct conn_index *ix, uint32_t ref)
{
	const struct key *k = key_at(ix, ref);
	return hash_bytes(key_name(k), k->len);
}

/* --- tables --- */

static void
table_init(struct table *t, ref_hash_fn *hash)
{
	t->slot = xcalloc(TABLE_MIN, sizeof *t->slot);
	t->mask = TABLE_MIN - 1;
	t->n = 0;
	t->hash = hash;
}

/* Puts ref in the first free slot of its probe sequence; no size check. */
static void
table_place(const struct conn_index *ix, struct table *t, uint32_t ref)
{
	uint32_t i = (uint32_t)t->hash(ix, ref) & t->mask;
	while (t->slot[i] != 0)
		i = (i + 1) & t->mask;
	t->slot[i] = ref;
}

static void
table_resize(const struct conn_index *ix, struct table *t, size_t cap)
{
	uint32_t *old = t->slot;
	size_t oldcap = (size_t)t->mask + 1;
	t->slot = xcalloc(cap, sizeof *t->slot);
	t->mask = (uint32_t)(cap - 1);
	for (size_t i = 0; i < oldcap; i++)
		if (old[i] != 0)
			table_place(ix, t, old[i]);
	free(old);
}

/* Adds ref, which must not be in the table yet. */
static void
table_put(const struct conn_index *ix, struct table *t, uint32_t ref)
{
	size_t cap = (size_t)t->mask + 1;
	if (((size_t)t->n + 1) * 4 > cap * 3)
		table_resize(ix, t, cap * 2);
	table_place(ix, t, ref);
	t->n++;
}

/* Removes ref, which must be in the table. Must run while the item can still
 * be hashed (before its id or name goes away). Backward-shift deletion: every
 * later slot of the cluster that may move into the hole does, so lookups
 * never need tombstones. */
static void
table_del(const struct conn_index *ix, struct table *t, uint32_t ref)
{
	uint32_t mask = t->mask;
	uint32_t i = (uint32_t)t->hash(ix, ref) & mask;
	while (t->slot[i] != ref)
		i = (i + 1) & mask;
	for (uint32_t j = (i + 1) & mask; t->slot[j] != 0; j = (j + 1) & mask) {
		uint32_t home = (uint32_t)t->hash(ix, t->slot[j]) & mask;
		/* Movable when the hole lies on its way from home to j. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = 0;
	t->n--;
	size_t cap = (size_t)mask + 1;
	if (cap > TABLE_MIN && (size_t)t->n * 8 < cap)
		table_resize(ix, t, cap / 2);
}

static uint32_t
id_find(const struct conn_index *ix, uint64_t id)
{
	const struct table *t = &ix->ids;
	for (uint32_t i = (uint32_t)hash_mix64(id) & t->mask;; i = (i + 1) & t->mask) {
		uint32_t ref = t->slot[i];
		if (ref == 0 || ent(ix, ref)->id == id)
			return ref;
	}
}

static uint32_t
key_find(const struct conn_index *ix, const struct table *t, const char *name, size_t len)
{
	for (uint32_t i = (uint32_t)hash_bytes(name, len) & t->mask;; i = (i + 1) & t->mask) {
		uint32_t ref = t->slot[i];
		if (ref == 0)
			return 0;
		const struct key *k = key_at(ix, ref);
		if (k->len == len && (len == 0 || memcmp(key_name(k), name, len) == 0))
			return ref;
	}
}

/* --- keys and their member sets --- */

/* The key of name in t, created (with no members) when absent. */
static uint32_t
key_get(struct conn_index *ix, struct table *t, const char *name, size_t len)
{
	uint32_t ref = key_find(ix, t, name, len);
	if (ref != 0)
		return ref;
	if (len > UINT32_MAX)
		abort(); /* names are bounded far below this by push_limits */
	ref = slab_alloc(&ix->keys);
	struct key *k = key_at(ix, ref);
	k->n = 0;
	k->len = (uint32_t)len;
	if (len <= KEY_INLINE)
		memcpy(k->name.in, name, len);
	else
		k->name.out = xmemdup(name, len);
	table_put(ix, t, ref);
	return ref;
}

/* Frees the key once it has no members. */
static void
key_release(struct conn_index *ix, struct table *t, uint32_t ref)
{
	struct key *k = key_at(ix, ref);
	if (k->n != 0)
		return;
	table_del(ix, t, ref);
	if (k->len > KEY_INLINE)
		free(k->name.out);
	slab_free(&ix->keys, ref);
}

static uint32_t
key_member(const struct key *k, uint32_t i)
{
	return k->n == 1 ? k->m.one : k->m.many->ref[i];
}

/* Appends an entry ref; returns its position. */
static uint32_t
key_add(struct key *k, uint32_t eref)
{
	if (k->n == 0) {
		k->m.one = eref;
		return k->n++;
	}
	if (k->n == 1) {
		uint32_t first = k->m.one;
		k->m.many = xmalloc(sizeof(struct members) + MEMBERS_MIN * sizeof(uint32_t));
		k->m.many->cap = MEMBERS_MIN;
		k->m.many->ref[0] = first;
	} else if (k->n == k->m.many->cap) {
		if (k->n == MEMBERS_MAX)
			abort(); /* 2^31 connections of one name: limits not applied */
		uint32_t cap = k->n > MEMBERS_MAX / 2 ? MEMBERS_MAX : k->n * 2;
		k->m.many = xrealloc(k->m.many, sizeof(struct members) + (size_t)cap * sizeof(uint32_t));
		k->m.many->cap = cap;
	}
	k->m.many->ref[k->n] = eref;
	return k->n++;
}

static uint32_t
entry_ngroups(const struct entry *e)
{
	return e->many ? e->g.many->n : e->g.one.key != 0;
}

static struct membership *
entry_groups(struct entry *e)
{
	return e->many ? e->g.many->v : &e->g.one;
}

/* Index of group key kref in the entry's list, or -1. */
static long
entry_group_index(struct entry *e, uint32_t kref)
{
	struct membership *m = entry_groups(e);
	uint32_t n = entry_ngroups(e);
	for (uint32_t i = 0; i < n; i++)
		if (m[i].key == kref)
			return (long)i;
	return -1;
}

/* Records that entry eref now sits at pos in the member set of kref. */
static void
entry_set_pos(const struct conn_index *ix, uint32_t eref, uint32_t kref, uint32_t pos)
{
	struct entry *e = ent(ix, eref);
	if (e->uid == kref) {
		e->uid_pos = pos;
		return;
	}
	long i = entry_group_index(e, kref);
	entry_groups(e)[i].pos = pos;
}

/* Removes the member at pos: the last member moves into the hole. Shrinks
 * the array when a quarter full, and goes back inline at one member. */
static void
key_drop(struct conn_index *ix, uint32_t kref, uint32_t pos)
{
	struct key *k = key_at(ix, kref);
	uint32_t last = k->n - 1;
	if (k->n == 1) {
		k->n = 0;
		return;
	}
	struct members *mm = k->m.many;
	if (pos != last) {
		mm->ref[pos] = mm->ref[last];
		entry_set_pos(ix, mm->ref[pos], kref, pos);
	}
	k->n = last;
	if (k->n == 1) {
		k->m.one = mm->ref[0];
		free(mm);
	} else if (mm->cap > MEMBERS_MIN && k->n <= mm->cap / 4) {
		mm->cap /= 2;
		k->m.many = xrealloc(mm, sizeof(struct members) + (size_t)mm->cap * sizeof(uint32_t));
	}
}

/* --- an entry's own group list --- */

static void
entry_add_group(struct entry *e, uint32_t kref, uint32_t pos)
{
	struct membership mb = {kref, pos};
	if (!e->many && e->g.one.key == 0) {
		e->g.one = mb;
		return;
	}
	if (!e->many) {
		struct membership first = e->g.one;
		struct groupset *gs = xmalloc(sizeof *gs + GROUPS_MIN * sizeof gs->v[0]);
		gs->n = 1;
		gs->cap = GROUPS_MIN;
		gs->v[0] = first;
		e->g.many = gs;
		e->many = 1;
	} else if (e->g.many->n == e->g.many->cap) {
		if (e->g.many->cap > UINT32_MAX / 2)
			abort();
		uint32_t cap = e->g.many->cap * 2;
		e->g.many = xrealloc(e->g.many, sizeof *e->g.many + (size_t)cap * sizeof e->g.many->v[0]);
		e->g.many->cap = cap;
	}
	e->g.many->v[e->g.many->n++] = mb;
}

/* Removes the i-th membership from the entry's list (order is not kept). */
static void
entry_drop_group(struct entry *e, uint32_t i)
{
	if (!e->many) {
		e->g.one.key = 0;
		e->g.one.pos = 0;
		return;
	}
	struct groupset *gs = e->g.many;
	gs->v[i] = gs->v[--gs->n];
	if (gs->n == 1) {
		e->g.one = gs->v[0];
		e->many = 0;
		free(gs);
	}
}

static void
entry_free_groups(struct entry *e)
{
	if (e->many)
		free(e->g.many);
	e->many = 0;
	e->g.one.key = 0;
	e->g.one.pos = 0;
}

static void
entry_unbind(struct conn_index *ix, struct entry *e)
{
	uint32_t kref = e->uid;
	key_drop(ix, kref, e->uid_pos);
	e->uid = 0;
	e->uid_pos = 0;
	key_release(ix, &ix->uids, kref);
}

/* --- public --- */

struct conn_index *
conn_index_new(void)
{
	struct conn_index *ix = xmalloc(sizeof *ix);
	slab_init(&ix->ents, sizeof(struct entry));
	slab_init(&ix->keys, sizeof(struct key));
	table_init(&ix->ids, entry_hash);
	table_init(&ix->uids, key_hash);
	table_init(&ix->groups, key_hash);
	return ix;
}

static void
keys_free(struct conn_index *ix, struct table *t)
{
	for (size_t i = 0; i <= t->mask; i++) {
		if (t->slot[i] == 0)
			continue;
		struct key *k = key_at(ix, t->slot[i]);
		if (k->n >= 2)
			free(k->m.many);
		if (k->len > KEY_INLINE)
			free(k->name.out);
	}
	free(t->slot);
}

void
conn_index_free(struct conn_index *ix)
{
	if (ix == NULL)
		return;
	for (size_t i = 0; i <= ix->ids.mask; i++) {
		if (ix->ids.slot[i] == 0)
			continue;
		entry_free_groups(ent(ix, ix->ids.slot[i]));
	}
	free(ix->ids.slot);
	keys_free(ix, &ix->uids);
	keys_free(ix, &ix->groups);
	slab_fini(&ix->ents);
	slab_fini(&ix->keys);
	free(ix);
}

int
conn_index_add(struct conn_index *ix, uint64_t id, void *conn)
{
	if (id_find(ix, id) != 0)
		return -EEXIST;
	uint32_t ref = slab_alloc(&ix->ents);
	struct entry *e = ent(ix, ref);
	memset(e, 0, sizeof *e);
	e->id = id;
	e->conn = conn;
	table_put(ix, &ix->ids, ref);
	return 0;
}

void *
conn_index_get(const struct conn_index *ix, uint64_t id)
{
	uint32_t ref = id_find(ix, id);
	return ref != 0 ? ent(ix, ref)->conn : NULL;
}

void
conn_index_remove(struct conn_index *ix, uint64_t id)
{
	uint32_t ref = id_find(ix, id);
	if (ref == 0)
		return;
	struct entry *e = ent(ix, ref);
	if (e->uid != 0)
		entry_unbind(ix, e);
	struct membership *m = entry_groups(e);
	uint32_t n = entry_ngroups(e);
	for (uint32_t i = 0; i < n; i++) {
		key_drop(ix, m[i].key, m[i].pos);
		key_release(ix, &ix->groups, m[i].key);
	}
	entry_free_groups(e);
	table_del(ix, &ix->ids, ref);
	slab_free(&ix->ents, ref);
}

int
conn_index_bind(struct conn_index *ix, uint64_t id, const char *uid, size_t len)
{
	uint32_t ref = id_find(ix, id);
	if (ref == 0)
		return -ENOENT;
	struct entry *e = ent(ix, ref);
	uint32_t kref = key_get(ix, &ix->uids, uid, len);
	if (e->uid == kref)
		return 0;
	if (e->uid != 0)
		entry_unbind(ix, e);
	e->uid = kref;
	e->uid_pos = key_add(key_at(ix, kref), ref);
	return 0;
}

int
conn_index_unbind(struct conn_index *ix, uint64_t id)
{
	uint32_t ref = id_find(ix, id);
	if (ref == 0)
		return -ENOENT;
	struct entry *e = ent(ix, ref);
	if (e->uid == 0)
		return -ENODATA;
	entry_unbind(ix, e);
	return 0;
}

const char *
conn_index_uid(const struct conn_index *ix, uint64_t id, size_t *len)
{
	uint32_t ref = id_find(ix, id);
	if (ref == 0 || ent(ix, ref)->uid == 0) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	const struct key *k = key_at(ix, ent(ix, ref)->uid);
	if (len != NULL)
		*len = k->len;
	return key_name(k);
}

int
conn_index_join(struct conn_index *ix, uint64_t id, const char *group, size_t len)
{
	uint32_t ref = id_find(ix, id);
	if (ref == 0)
		return -ENOENT;
	struct entry *e = ent(ix, ref);
	uint32_t kref = key_get(ix, &ix->groups, group, len);
	if (entry_group_index(e, kref) >= 0)
		return 0;
	entry_add_group(e, kref, key_add(key_at(ix, kref), ref));
	return 0;
}

int
conn_index_leave(struct conn_index *ix, uint64_t id, const char *group, size_t len)
{
	uint32_t ref = id_find(ix, id);
	if (ref == 0)
		return -ENOENT;
	uint32_t kref = key_find(ix, &ix->groups, group, len);
	if (kref == 0)
		return -ENODATA;
	struct entry *e = ent(ix, ref);
	long i = entry_group_index(e, kref);
	if (i < 0)
		return -ENODATA;
	key_drop(ix, kref, entry_groups(e)[i].pos);
	entry_drop_group(e, (uint32_t)i);
	key_release(ix, &ix->groups, kref);
	return 0;
}

size_t
conn_index_ungroup(struct conn_index *ix, const char *group, size_t len)
{
	uint32_t kref = key_find(ix, &ix->groups, group, len);
	if (kref == 0)
		return 0;
	struct key *k = key_at(ix, kref);
	uint32_t n = k->n;
	for (uint32_t i = 0; i < n; i++) {
		struct entry *e = ent(ix, key_member(k, i));
		entry_drop_group(e, (uint32_t)entry_group_index(e, kref));
	}
	if (n >= 2)
		free(k->m.many);
	k->n = 0;
	key_release(ix, &ix->groups, kref);
	return n;
}

size_t
conn_index_group_count_of(const struct conn_index *ix, uint64_t id)
{
	uint32_t ref = id_find(ix, id);
	return ref != 0 ? entry_ngroups(ent(ix, ref)) : 0;
}

size_t
conn_index_each(const struct conn_index *ix, conn_index_visit_fn *fn, void *arg)
{
	for (size_t i = 0; i <= ix->ids.mask; i++) {
		if (ix->ids.slot[i] == 0)
			continue;
		const struct entry *e = ent(ix, ix->ids.slot[i]);
		fn(arg, e->id, e->conn);
	}
	return ix->ids.n;
}

static size_t
key_each(const struct conn_index *ix, const struct table *t, const char *name, size_t len,
	conn_index_visit_fn *fn, void *arg)
{
	uint32_t kref = key_find(ix, t, name, len);
	if (kref == 0)
		return 0;
	const struct key *k = key_at(ix, kref);
	for (uint32_t i = 0; i < k->n; i++) {
		const struct entry *e = ent(ix, key_member(k, i));
		fn(arg, e->id, e->conn);
	}
	return k->n;
}

size_t
conn_index_each_of_uid(const struct conn_index *ix, const char *uid, size_t len,
	conn_index_visit_fn *fn, void *arg)
{
	return key_each(ix, &ix->uids, uid, len, fn, arg);
}

size_t
conn_index_each_of_group(const struct conn_index *ix, const char *group, size_t len,
	conn_index_visit_fn *fn, void *arg)
{
	return key_each(ix, &ix->groups, group, len, fn, arg);
}

size_t
conn_index_count(const struct conn_index *ix)
{
	return ix->ids.n;
}

size_t
conn_index_uid_total(const struct conn_index *ix)
{
	return ix->uids.n;
}

size_t
conn_index_group_total(const struct conn_index *ix)
{
	return ix->groups.n;
}

static size_t
key_count(const struct conn_index *ix, const struct table *t, const char *name, size_t len)
{
	uint32_t kref = key_find(ix, t, name, len);
	return kref != 0 ? key_at(ix, kref)->n : 0;
}

size_t
conn_index_count_of_uid(const struct conn_index *ix, const char *uid, size_t len)
{
	return key_count(ix, &ix->uids, uid, len);
}

size_t
conn_index_count_of_group(const struct conn_index *ix, const char *group, size_t len)
{
	return key_count(ix, &ix->groups, group, len);
}

static size_t
names_each(const struct conn_index *ix, const struct table *t, conn_index_name_fn *fn, void *arg)
{
	for (size_t i = 0; i <= t->mask; i++) {
		if (t->slot[i] == 0)
			continue;
		const struct key *k = key_at(ix, t->slot[i]);
		fn(arg, key_name(k), k->len);
	}
	return t->n;
}

size_t
conn_index_each_uid_name(const struct conn_index *ix, conn_index_name_fn *fn, void *arg)
{
	return names_each(ix, &ix->uids, fn, arg);
}

size_t
conn_index_each_group_name(const struct conn_index *ix, conn_index_name_fn *fn, void *arg)
{
	return names_each(ix, &ix->groups, fn, arg);
}

size_t
conn_index_each_uid_of_group(const struct conn_index *ix, const char *group, size_t len,
	conn_index_name_fn *fn, void *arg)
{
	uint32_t kref = key_find(ix, &ix->groups, group, len);
	if (kref == 0)
		return 0;
	const struct key *k = key_at(ix, kref);
	/* Uid key refs already visited: a temporary set, at most half full. */
	size_t cap = 4;
	while (cap < (size_t)k->n * 2)
		cap *= 2;
	uint32_t *seen = xcalloc(cap, sizeof *seen);
	size_t visited = 0;
	for (uint32_t i = 0; i < k->n; i++) {
		uint32_t uref = ent(ix, key_member(k, i))->uid;
		if (uref == 0)
			continue;
		size_t j = (size_t)hash_mix64(uref) & (cap - 1);
		while (seen[j] != 0 && seen[j] != uref)
			j = (j + 1) & (cap - 1);
		if (seen[j] == uref)
			continue;
		seen[j] = uref;
		const struct key *u = key_at(ix, uref);
		fn(arg, key_name(u), u->len);
		visited++;
	}
	free(seen);
	return visited;
}

size_t
conn_index_each_group_of(const struct conn_index *ix, uint64_t id, conn_index_name_fn *fn,
	void *arg)
{
	uint32_t ref = id_find(ix, id);
	if (ref == 0)
		return 0;
	struct entry *e = ent(ix, ref);
	const struct membership *m = entry_groups(e);
	uint32_t n = entry_ngroups(e);
	for (uint32_t i = 0; i < n; i++) {
		const struct key *k = key_at(ix, m[i].key);
		fn(arg, key_name(k), k->len);
	}
	return n;
}
