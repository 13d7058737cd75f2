// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest writes that KVM completes without an exit: coalesced MMIO/PIO and
 * ioeventfd (Documentation/virt/kvm/api.rst).
 *
 * Coalesced I/O (KVM_REGISTER_COALESCED_MMIO / KVM_UNREGISTER_COALESCED_MMIO;
 * the ring is at the page KVM_CAP_COALESCED_MMIO returns in the vCPU mmap,
 * KVM_CAP_COALESCED_PIO for zones with pio = 1):
 *  - a write of 1, 2, 4 or 8 bytes wholly inside a zone makes no exit and
 *    appears in the ring, in order, with its phys_addr, len, data and pio
 *    flag; the zone's last byte is in, the byte after it and a write that
 *    straddles either end are out and exit as usual;
 *  - reads of a zone still exit (only writes are coalesced);
 *  - the ring holds KVM_COALESCED_MMIO_MAX - 1 entries (one is kept free to
 *    tell full from empty, virt/kvm/coalesced_mmio.c): the write that finds
 *    it full exits to userspace instead, also after the ring has wrapped;
 *  - after KVM_UNREGISTER_COALESCED_MMIO the zone's writes exit again.
 *
 * ioeventfd (KVM_IOEVENTFD): a write to the address, of the length, and
 * (with KVM_IOEVENTFD_FLAG_DATAMATCH) of the value registered signals the
 * eventfd and makes no exit; any other write, another length, another
 * address, and every read exit to userspace; the eventfd counter counts
 * exactly the matching writes.  Length 0 (KVM_CAP_IOEVENTFD_ANY_LENGTH)
 * matches a write of any length at that exact address (MMIO reads there
 * are not checked: see ioeventfd_any_length).  MMIO and PIO
 * (KVM_IOEVENTFD_FLAG_PIO).  After deassign the writes exit again.  The
 * ioctl's refusals: a second ioeventfd that would match the same writes
 * is EEXIST (same address and length with the same datamatch, or either
 * a wildcard, or either of length 0), a length other than 0/1/2/4/8 or 0
 * with datamatch is EINVAL, deassigning what is not assigned is ENOENT.
 *
 * Idea of tools/testing/selftests/kvm/coalesced_io_test.c (ring contents,
 * ring full, MMIO and PIO zones); the ioeventfd rules are from api.rst and
 * virt/kvm/eventfd.c.
 *
 * Caught bugs: bugs/coalesced-io-ring-half-full.patch,
 * bugs/coalesced-io-zone-end-off-by-one.patch,
 * bugs/ioeventfd-datamatch-8-bytes-truncated.patch,
 * bugs/ioeventfd-zero-length-datamatch-accepted.patch
 */
#include <sys/eventfd.h>
#include <unistd.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

#define MMIO_GPA	0x20000000	/* an unbacked page */
#define ZONE_GPA	(MMIO_GPA + 0x100)
#define ZONE_SIZE	0x40
#define PIO_ZONE	0x5a0
#define PIO_ZONE_SIZE	4

/*
 * The guest performs op, repeat times (value val + i), then syncs with the
 * last value read (or 0).
 */
struct io_op {
	uint64_t addr;
	uint64_t val;
	uint32_t size;
	uint32_t repeat;
	uint32_t pio;
	uint32_t read;
};

static struct io_op op;

static uint64_t guest_do(uint64_t addr, uint32_t size, bool pio, bool read, uint64_t v)
{
	if (pio && read)
		return size == 1 ? inb(addr) : size == 2 ? inw(addr) : inl(addr);
	if (pio) {
		if (size == 1)
			outb(addr, v);
		else if (size == 2)
			outw(addr, v);
		else
			outl(addr, v);
		return 0;
	}
	switch (size) {
	case 1:
		if (read)
			return *(volatile uint8_t *)addr;
		*(volatile uint8_t *)addr = v;
		break;
	case 2:
		if (read)
			return *(volatile uint16_t *)addr;
		*(volatile uint16_t *)addr = v;
		break;
	case 4:
		if (read)
			return *(volatile uint32_t *)addr;
		*(volatile uint32_t *)addr = v;
		break;
	default:
		if (read)
			return *(volatile uint64_t *)addr;
		*(volatile uint64_t *)addr = v;
		break;
	}
	return 0;
}

static void guest_ops(void)
{
	for (;;) {
		volatile struct io_op *o = &op;
		uint64_t r = 0;

		for (uint32_t i = 0; i < o->repeat; i++)
			r = guest_do(o->addr, o->size, o->pio, o->read, o->val + i);
		GUEST_SYNC(r);
	}
}

/* The value a read exit gets from the host. */
#define READ_VALUE	0x8877665544332211ull

static uint64_t size_mask(uint32_t size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/*
 * Check that the current exit is the guest's access number i of o; for a
 * read, answer it.
 */
static void check_op_exit(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
			  const struct io_op *o, uint32_t i)
{
	struct kvm_run *run = vcpu->run;
	uint64_t data = 0, want = (o->val + i) & size_mask(o->size);
	uint64_t rv = READ_VALUE;

	if (o->pio) {
		uint8_t *p = (uint8_t *)run + run->io.data_offset;

		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		ASSERT_EQ(run->io.port, o->addr);
		ASSERT_EQ(run->io.size, o->size);
		ASSERT_EQ(run->io.count, 1);
		ASSERT_EQ(run->io.direction, o->read ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT);
		if (o->read) {
			memcpy(p, &rv, o->size);
			return;
		}
		memcpy(&data, p, o->size);
	} else {
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
		ASSERT_EQ(run->mmio.phys_addr, o->addr);
		ASSERT_EQ(run->mmio.len, o->size);
		ASSERT_EQ(run->mmio.is_write, !o->read);
		if (o->read) {
			memcpy(run->mmio.data, &rv, o->size);
			return;
		}
		memcpy(&data, run->mmio.data, o->size);
	}
	ASSERT_EQ(data, want) TH_LOG("write %u of %u to %#llx", i, o->repeat,
				     (unsigned long long)o->addr);
}

/*
 * Have the guest do o; each of its accesses must exit to userspace iff
 * exits says so.  Returns the guest's last read value.
 */
static uint64_t do_op(struct __test_metadata *_metadata, struct kvm_vm *vm,
		      struct kvm_vcpu *vcpu, struct io_op o, bool exits)
{
	unsigned int n = 0;
	struct ucall uc;

	if (!o.repeat)
		o.repeat = 1;
	write_guest_global(vm, op, o);
	for (;;) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			EXPECT_EQ(n, exits ? o.repeat : 0)
				TH_LOG("%s of %u bytes at %s %#llx (value %#llx) x%u: %u exits to "
				       "userspace, expected %u", o.read ? "read" : "write", o.size,
				       o.pio ? "port" : "GPA", (unsigned long long)o.addr,
				       (unsigned long long)o.val, o.repeat, n,
				       exits ? o.repeat : 0);
			return uc.args[0];
		case UCALL_ABORT:
			report_guest_abort(vcpu, &uc);
		case UCALL_PRINTF:
			TH_LOG("guest: %s", uc.buffer);
			continue;
		case UCALL_NONE:
			break;
		default:
			ASSERT_TRUE(false) TH_LOG("ucall %u", uc.cmd);
		}
		ASSERT_TRUE(exits)
			TH_LOG("%s of %u bytes at %s %#llx (value %#llx) exited to userspace (%s)",
			       o.read ? "read" : "write", o.size, o.pio ? "port" : "GPA",
			       (unsigned long long)o.addr, (unsigned long long)o.val,
			       exit_reason_str(vcpu->run->exit_reason));
		ASSERT_LT(n, o.repeat);
		check_op_exit(_metadata, vcpu, &o, n++);
	}
}

#define WR(a, s, v)	((struct io_op){ .addr = (a), .size = (s), .val = (v) })
#define RD(a, s)	((struct io_op){ .addr = (a), .size = (s), .read = 1 })
#define PWR(a, s, v)	((struct io_op){ .addr = (a), .size = (s), .val = (v), .pio = 1 })
#define PRD(a, s)	((struct io_op){ .addr = (a), .size = (s), .read = 1, .pio = 1 })

/* ---- coalesced I/O ---- */

static struct kvm_coalesced_mmio_ring *coalesced_ring(struct __test_metadata *_metadata,
						      struct kvm_vcpu *vcpu)
{
	int page = kvm_check_cap(KVM_CAP_COALESCED_MMIO);

	ASSERT_GT(page, 0) TH_LOG("KVM_CAP_COALESCED_MMIO gives ring page %d", page);
	ASSERT_LE((page + 1) * PAGE_SIZE, vcpu->run_size)
		TH_LOG("ring page %d beyond the vCPU mmap (%zu bytes)", page, vcpu->run_size);
	return (struct kvm_coalesced_mmio_ring *)((uint8_t *)vcpu->run + page * PAGE_SIZE);
}

static void zone_set(struct kvm_vm *vm, unsigned long ioctl_nr, uint64_t addr, uint32_t size,
		     bool pio)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size, .pio = pio };

	if (ioctl_nr == KVM_REGISTER_COALESCED_MMIO)
		vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, &z);
	else
		vm_ioctl(vm, KVM_UNREGISTER_COALESCED_MMIO, &z);
}

static uint32_t ring_used(struct kvm_coalesced_mmio_ring *ring)
{
	return (ring->last + KVM_COALESCED_MMIO_MAX - ring->first) % KVM_COALESCED_MMIO_MAX;
}

/* The ring holds exactly the writes of ops[0..n) (each repeat times), in order; consume it. */
static void expect_ring(struct __test_metadata *_metadata, struct kvm_coalesced_mmio_ring *ring,
			const struct io_op *ops, unsigned int n)
{
	uint32_t at = ring->first, want = 0;

	for (unsigned int i = 0; i < n; i++)
		want += ops[i].repeat ? ops[i].repeat : 1;
	ASSERT_LT(ring->first, KVM_COALESCED_MMIO_MAX);
	ASSERT_LT(ring->last, KVM_COALESCED_MMIO_MAX);
	ASSERT_EQ(ring_used(ring), want)
		TH_LOG("ring first %u last %u: %u entries, expected %u", ring->first, ring->last,
		       ring_used(ring), want);
	for (unsigned int i = 0; i < n; i++) {
		for (uint32_t r = 0; r < (ops[i].repeat ? ops[i].repeat : 1); r++) {
			struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[at];
			uint64_t data = 0;

			memcpy(&data, e->data, ops[i].size);
			EXPECT_EQ(e->phys_addr, ops[i].addr) TH_LOG("ring entry %u", at);
			EXPECT_EQ(e->len, ops[i].size) TH_LOG("ring entry %u", at);
			EXPECT_EQ(e->pio, ops[i].pio) TH_LOG("ring entry %u", at);
			EXPECT_EQ(data, (ops[i].val + r) & size_mask(ops[i].size))
				TH_LOG("ring entry %u", at);
			at = (at + 1) % KVM_COALESCED_MMIO_MAX;
		}
	}
	ring->first = ring->last;
}

/*
 * The writes of in[] land in the ring without an exit; each op of out[]
 * exits (a read returns what the host answers) and leaves the ring empty.
 */
static void expect_zone(struct __test_metadata *_metadata, struct kvm_vm *vm,
			struct kvm_vcpu *vcpu, struct kvm_coalesced_mmio_ring *ring,
			const struct io_op *in, unsigned int nin,
			const struct io_op *out, unsigned int nout)
{
	for (unsigned int i = 0; i < nin; i++)
		do_op(_metadata, vm, vcpu, in[i], false);
	expect_ring(_metadata, ring, in, nin);
	for (unsigned int i = 0; i < nout; i++) {
		uint64_t r = do_op(_metadata, vm, vcpu, out[i], true);

		if (out[i].read)
			EXPECT_EQ(r, READ_VALUE & size_mask(out[i].size));
	}
	expect_ring(_metadata, ring, NULL, 0);
}

KVM_VCPU_TEST(coalesced_mmio_zone, guest_ops)
{
	static const struct io_op in_zone[] = {
		WR(ZONE_GPA, 1, 0x11),
		WR(ZONE_GPA + 2, 2, 0x2222),
		WR(ZONE_GPA + 4, 4, 0x44444444),
		WR(ZONE_GPA + 8, 8, 0x8888888877777777),
		WR(ZONE_GPA + ZONE_SIZE - 1, 1, 0xe1),		/* the last byte */
		WR(ZONE_GPA + ZONE_SIZE - 8, 8, 0x0102030405060708),
		WR(ZONE_GPA + ZONE_SIZE - 2, 2, 0xbeef),
	};
	static const struct io_op out_of_zone[] = {
		WR(ZONE_GPA + ZONE_SIZE, 1, 0x5a),		/* the first byte after */
		WR(ZONE_GPA + ZONE_SIZE - 1, 2, 0xa5a5),	/* straddles the end */
		WR(ZONE_GPA + ZONE_SIZE - 4, 8, 0x1122334455667788),
		WR(ZONE_GPA - 1, 1, 0x33),			/* the byte before */
		WR(ZONE_GPA - 1, 2, 0x4433),			/* straddles the start */
		RD(ZONE_GPA, 4),				/* reads are never coalesced */
		RD(ZONE_GPA + ZONE_SIZE - 1, 1),
	};
	struct kvm_coalesced_mmio_ring *ring;

	TEST_REQUIRE_CAP(KVM_CAP_COALESCED_MMIO);
	ring = coalesced_ring(_metadata, vcpu);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE, PTE_DEFAULT);
	zone_set(vm, KVM_REGISTER_COALESCED_MMIO, ZONE_GPA, ZONE_SIZE, false);
	EXPECT_EQ(ring_used(ring), 0);

	expect_zone(_metadata, vm, vcpu, ring, in_zone, ARRAY_SIZE(in_zone), out_of_zone,
		    ARRAY_SIZE(out_of_zone));

	/* A zone of the PIO bus does not catch MMIO at the same number. */
	if (kvm_check_cap(KVM_CAP_COALESCED_PIO)) {
		zone_set(vm, KVM_REGISTER_COALESCED_MMIO, MMIO_GPA, 8, true);
		do_op(_metadata, vm, vcpu, WR(MMIO_GPA, 4, 0x600d), true);
		zone_set(vm, KVM_UNREGISTER_COALESCED_MMIO, MMIO_GPA, 8, true);
	}

	/* Unregistered: the same writes exit. */
	zone_set(vm, KVM_UNREGISTER_COALESCED_MMIO, ZONE_GPA, ZONE_SIZE, false);
	for (unsigned int i = 0; i < ARRAY_SIZE(in_zone); i++)
		do_op(_metadata, vm, vcpu, in_zone[i], true);
	expect_ring(_metadata, ring, NULL, 0);
}

KVM_VCPU_TEST(coalesced_pio_zone, guest_ops)
{
	static const struct io_op in_zone[] = {
		PWR(PIO_ZONE, 1, 0x11),
		PWR(PIO_ZONE + 2, 2, 0x2222),
		PWR(PIO_ZONE, 4, 0x44444444),
		PWR(PIO_ZONE + PIO_ZONE_SIZE - 1, 1, 0xe1),	/* the last port */
	};
	static const struct io_op out_of_zone[] = {
		PWR(PIO_ZONE + PIO_ZONE_SIZE, 1, 0x5a),		/* the first port after */
		PWR(PIO_ZONE + PIO_ZONE_SIZE - 1, 2, 0xa5a5),	/* straddles the end */
		PWR(PIO_ZONE - 1, 1, 0x33),
		PWR(PIO_ZONE + 2, 4, 0x12345678),
		PRD(PIO_ZONE, 1),
		PRD(PIO_ZONE, 4),
	};
	struct kvm_coalesced_mmio_ring *ring;

	TEST_REQUIRE_CAP(KVM_CAP_COALESCED_MMIO);
	TEST_REQUIRE_CAP(KVM_CAP_COALESCED_PIO);
	ring = coalesced_ring(_metadata, vcpu);
	zone_set(vm, KVM_REGISTER_COALESCED_MMIO, PIO_ZONE, PIO_ZONE_SIZE, true);

	expect_zone(_metadata, vm, vcpu, ring, in_zone, ARRAY_SIZE(in_zone), out_of_zone,
		    ARRAY_SIZE(out_of_zone));

	zone_set(vm, KVM_UNREGISTER_COALESCED_MMIO, PIO_ZONE, PIO_ZONE_SIZE, true);
	for (unsigned int i = 0; i < ARRAY_SIZE(in_zone); i++)
		do_op(_metadata, vm, vcpu, in_zone[i], true);
	expect_ring(_metadata, ring, NULL, 0);
}

/*
 * Fill the ring: of repeat writes, the first KVM_COALESCED_MMIO_MAX - 1
 * go to the ring, the next exits; once userspace empties the ring the rest
 * are coalesced again.  Twice, the second time with the ring's indices
 * wrapping.
 */
static void fill_ring(struct __test_metadata *_metadata, struct kvm_vm *vm,
		      struct kvm_vcpu *vcpu, struct kvm_coalesced_mmio_ring *ring, uint64_t val)
{
	const uint32_t room = KVM_COALESCED_MMIO_MAX - 1, extra = 20;
	struct io_op o = WR(ZONE_GPA + 8, 8, val);
	struct kvm_run *run = vcpu->run;
	uint32_t first = ring->first;
	struct io_op part;
	struct ucall uc;
	uint64_t data;

	ASSERT_EQ(ring_used(ring), 0);
	o.repeat = room + 1 + extra;
	write_guest_global(vm, op, o);
	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_NONE)
		TH_LOG("%u writes into an empty ring (first %u) made no exit to userspace: "
		       "ring used %u", o.repeat, first, ring_used(ring));
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	memcpy(&data, run->mmio.data, sizeof(data));
	ASSERT_EQ(run->mmio.phys_addr, o.addr);
	ASSERT_EQ(run->mmio.len, 8);
	ASSERT_EQ(data, val + room)
		TH_LOG("the write that exited is number %lld; the ring (first %u, %u entries) "
		       "should hold %u", (long long)(data - val), first, ring_used(ring), room);
	part = o;
	part.repeat = room;
	expect_ring(_metadata, ring, &part, 1);

	/* The rest fit in the emptied ring. */
	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	part.val = val + room + 1;
	part.repeat = extra;
	expect_ring(_metadata, ring, &part, 1);
}

KVM_VCPU_TEST(coalesced_ring_full_exits, guest_ops)
{
	struct kvm_coalesced_mmio_ring *ring;

	TEST_REQUIRE_CAP(KVM_CAP_COALESCED_MMIO);
	ring = coalesced_ring(_metadata, vcpu);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE, PTE_DEFAULT);
	zone_set(vm, KVM_REGISTER_COALESCED_MMIO, ZONE_GPA, ZONE_SIZE, false);

	fill_ring(_metadata, vm, vcpu, ring, 0x1000);
	TH_LOG("second fill from ring index %u", ring->first);
	fill_ring(_metadata, vm, vcpu, ring, 0x2000);
	fill_ring(_metadata, vm, vcpu, ring, 0x3000);
}

/* ---- ioeventfd ---- */

static int __ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, int fd, uint32_t flags,
		       uint64_t datamatch)
{
	struct kvm_ioeventfd a = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = fd, .flags = flags,
	};

	return __vm_ioctl(vm, KVM_IOEVENTFD, &a);
}

#define ioeventfd(vm, addr, len, fd, flags, datamatch)				\
	ASSERT_EQ(__ioeventfd(vm, addr, len, fd, flags, datamatch), 0)		\
		TH_LOG("KVM_IOEVENTFD(addr %#llx len %u flags %#x datamatch %#llx): %s",	\
		       (unsigned long long)(addr), len, flags,			\
		       (unsigned long long)(datamatch), strerror(errno))

/* The eventfd counter since the last call (read resets it). */
static uint64_t efd_count(struct __test_metadata *_metadata, int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) == sizeof(n))
		return n;
	EXPECT_EQ(errno, EAGAIN);
	return 0;
}

#define IOEVENTFD_MMIO	(MMIO_GPA + 0x800)
#define IOEVENTFD_PORT	0x5b0

struct ioeventfd_case {
	bool pio;
	uint32_t len;
	bool datamatch;
};

static const struct ioeventfd_case ioeventfd_cases[] = {
	{ false, 1, true }, { false, 2, true }, { false, 4, true }, { false, 8, true },
	{ true, 1, true }, { true, 2, true }, { true, 4, true },
	{ false, 4, false }, { true, 2, false }, { false, 8, false },
};

static struct io_op io_access(bool pio, uint64_t addr, uint32_t size, uint64_t val, bool read)
{
	return (struct io_op){ .addr = addr, .size = size, .val = val, .pio = pio, .read = read };
}

KVM_VCPU_TEST(ioeventfd_match_rules, guest_ops)
{
	TEST_REQUIRE_CAP(KVM_CAP_IOEVENTFD);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE, PTE_DEFAULT);

	for (unsigned int c = 0; c < ARRAY_SIZE(ioeventfd_cases); c++) {
		const struct ioeventfd_case *ic = &ioeventfd_cases[c];
		uint64_t addr = ic->pio ? IOEVENTFD_PORT : IOEVENTFD_MMIO;
		uint32_t flags = (ic->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
				 (ic->datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0);
		uint32_t len = ic->len, other = len == 4 ? 2 : 4;
		/* A value with its lowest and highest bytes both non-zero. */
		uint64_t match = 0xa1b2c3d4e5f60718ull & size_mask(len);
		uint32_t top = 8 * len - 1;
		int fd = eventfd(0, EFD_NONBLOCK);

		ASSERT_GE(fd, 0);
		ioeventfd(vm, addr, len, fd, flags, match);
		TH_LOG("case %u: %s len %u %s", c, ic->pio ? "PIO" : "MMIO", len,
		       ic->datamatch ? "datamatch" : "wildcard");

		do_op(_metadata, vm, vcpu, io_access(ic->pio, addr, len, match, false), false);
		/* Another value: a hit only for a wildcard. */
		do_op(_metadata, vm, vcpu, io_access(ic->pio, addr, len, match ^ 1, false),
		      ic->datamatch);
		do_op(_metadata, vm, vcpu, io_access(ic->pio, addr, len, match ^ (1ull << top), false),
		      ic->datamatch);
		/* Another length, another address, a read: never. */
		do_op(_metadata, vm, vcpu, io_access(ic->pio, addr, other, match, false), true);
		do_op(_metadata, vm, vcpu, io_access(ic->pio, addr + len, len, match, false), true);
		do_op(_metadata, vm, vcpu, io_access(ic->pio, addr, len, 0, true), true);
		do_op(_metadata, vm, vcpu, io_access(ic->pio, addr, len, match, false), false);
		EXPECT_EQ(efd_count(_metadata, fd), ic->datamatch ? 2 : 4)
			TH_LOG("case %u: eventfd counter", c);

		/* Deassigned: the matching write exits; deassigning again is ENOENT. */
		ioeventfd(vm, addr, len, fd, flags | KVM_IOEVENTFD_FLAG_DEASSIGN, match);
		do_op(_metadata, vm, vcpu, io_access(ic->pio, addr, len, match, false), true);
		EXPECT_EQ(efd_count(_metadata, fd), 0);
		EXPECT_EQ(__ioeventfd(vm, addr, len, fd, flags | KVM_IOEVENTFD_FLAG_DEASSIGN,
				      match), -1);
		EXPECT_EQ(errno, ENOENT);
		close(fd);
		ASSERT_FALSE(KVM_TEST_FAILED()) TH_LOG("case %u", c);
	}
}

KVM_VCPU_TEST(ioeventfd_any_length, guest_ops)
{
	static const uint32_t mmio_sizes[] = { 1, 2, 4, 8 }, pio_sizes[] = { 1, 2, 4 };
	int fd;

	TEST_REQUIRE_CAP(KVM_CAP_IOEVENTFD);
	TEST_REQUIRE_CAP(KVM_CAP_IOEVENTFD_ANY_LENGTH);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE, PTE_DEFAULT);
	fd = eventfd(0, EFD_NONBLOCK);
	ASSERT_GE(fd, 0);

	/* Length 0 with datamatch is refused. */
	EXPECT_EQ(__ioeventfd(vm, IOEVENTFD_MMIO, 0, fd, KVM_IOEVENTFD_FLAG_DATAMATCH, 1), -1);
	EXPECT_EQ(errno, EINVAL);

	ioeventfd(vm, IOEVENTFD_MMIO, 0, fd, 0, 0);
	ioeventfd(vm, IOEVENTFD_PORT, 0, fd, KVM_IOEVENTFD_FLAG_PIO, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(mmio_sizes); i++)
		do_op(_metadata, vm, vcpu, WR(IOEVENTFD_MMIO, mmio_sizes[i], 0x77 + i), false);
	for (unsigned int i = 0; i < ARRAY_SIZE(pio_sizes); i++)
		do_op(_metadata, vm, vcpu, PWR(IOEVENTFD_PORT, pio_sizes[i], 0x77 + i), false);
	/*
	 * Only the exact address: not the byte after or before, and no port
	 * reads.  No MMIO read: with EPT, kvm_intel's fast MMIO path
	 * (vmx.c handle_ept_misconfig) cannot tell a read from a write and
	 * signals a length-0 ioeventfd for both; api.rst speaks only of writes.
	 */
	do_op(_metadata, vm, vcpu, WR(IOEVENTFD_MMIO + 1, 1, 0x1), true);
	do_op(_metadata, vm, vcpu, WR(IOEVENTFD_MMIO - 1, 2, 0x2), true);
	do_op(_metadata, vm, vcpu, PWR(IOEVENTFD_PORT + 1, 1, 0x1), true);
	do_op(_metadata, vm, vcpu, PRD(IOEVENTFD_PORT, 2), true);
	EXPECT_EQ(efd_count(_metadata, fd), ARRAY_SIZE(mmio_sizes) + ARRAY_SIZE(pio_sizes));

	ioeventfd(vm, IOEVENTFD_MMIO, 0, fd, KVM_IOEVENTFD_FLAG_DEASSIGN, 0);
	ioeventfd(vm, IOEVENTFD_PORT, 0, fd, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DEASSIGN, 0);
	do_op(_metadata, vm, vcpu, WR(IOEVENTFD_MMIO, 4, 0x1), true);
	do_op(_metadata, vm, vcpu, PWR(IOEVENTFD_PORT, 1, 0x1), true);
	EXPECT_EQ(efd_count(_metadata, fd), 0);
	close(fd);
}

KVM_VCPU_TEST(ioeventfd_assign_refusals, guest_ops)
{
	const uint32_t dm = KVM_IOEVENTFD_FLAG_DATAMATCH, pio = KVM_IOEVENTFD_FLAG_PIO;
	const uint64_t a = IOEVENTFD_MMIO;
	static const struct {
		uint64_t addr;
		uint32_t len, flags;
		uint64_t datamatch;
		int err;
		const char *what;
	} cases[] = {
		/* With a datamatch ioeventfd of value 5 at (a, 4) in place: */
		{ IOEVENTFD_MMIO, 4, KVM_IOEVENTFD_FLAG_DATAMATCH, 5, EEXIST, "the same again" },
		{ IOEVENTFD_MMIO, 4, 0, 0, EEXIST, "a wildcard at the same address and length" },
		{ IOEVENTFD_MMIO, 0, 0, 0, EEXIST, "length 0 at the same address" },
		{ IOEVENTFD_MMIO + 0x20, 0, KVM_IOEVENTFD_FLAG_DATAMATCH, 0, EINVAL,
		  "length 0 with datamatch" },
		{ IOEVENTFD_PORT, 0, KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_PIO, 0, EINVAL,
		  "length 0 with datamatch on the PIO bus" },
		{ IOEVENTFD_MMIO, 3, 0, 0, EINVAL, "length 3" },
		{ IOEVENTFD_MMIO, 16, 0, 0, EINVAL, "length 16" },
		{ ~0ull - 1, 4, 0, 0, EINVAL, "a range that wraps" },
		{ IOEVENTFD_MMIO + 8, 4, 1u << 15, 0, EINVAL, "an unknown flag" },
	};
	int fd, fd2;

	TEST_REQUIRE_CAP(KVM_CAP_IOEVENTFD);
	fd = eventfd(0, EFD_NONBLOCK);
	fd2 = eventfd(0, EFD_NONBLOCK);
	ASSERT_GE(fd, 0);
	ASSERT_GE(fd2, 0);

	ioeventfd(vm, a, 4, fd, dm, 5);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		EXPECT_EQ(__ioeventfd(vm, cases[i].addr, cases[i].len, fd2, cases[i].flags,
				      cases[i].datamatch), -1)
			TH_LOG("KVM_IOEVENTFD of %s was accepted", cases[i].what);
		EXPECT_EQ(errno, cases[i].err)
			TH_LOG("KVM_IOEVENTFD of %s: %s, expected %s", cases[i].what,
			       strerror(errno), strerror(cases[i].err));
	}
	/* Not a collision: another value, another length, the PIO bus. */
	ioeventfd(vm, a, 4, fd2, dm, 6);
	ioeventfd(vm, a, 2, fd2, dm, 5);
	ioeventfd(vm, a, 4, fd2, dm | pio, 5);
	/* A length-0 one collides with all of them, and they with it. */
	ioeventfd(vm, a + 0x10, 0, fd2, 0, 0);
	EXPECT_EQ(__ioeventfd(vm, a + 0x10, 1, fd, dm, 1), -1);
	EXPECT_EQ(errno, EEXIST);

	/* Deassign names the eventfd, length and datamatch it was assigned with. */
	EXPECT_EQ(__ioeventfd(vm, a, 4, fd2, dm | KVM_IOEVENTFD_FLAG_DEASSIGN, 5), -1);
	EXPECT_EQ(errno, ENOENT);
	EXPECT_EQ(__ioeventfd(vm, a, 4, fd, dm | KVM_IOEVENTFD_FLAG_DEASSIGN, 7), -1);
	EXPECT_EQ(errno, ENOENT);
	EXPECT_EQ(__ioeventfd(vm, a, 4, fd, KVM_IOEVENTFD_FLAG_DEASSIGN, 0), -1);
	EXPECT_EQ(errno, ENOENT);
	ioeventfd(vm, a, 4, fd, dm | KVM_IOEVENTFD_FLAG_DEASSIGN, 5);
	/* Once gone, the same assignment is accepted again. */
	ioeventfd(vm, a, 4, fd, dm, 5);
	close(fd);
	close(fd2);
}

TEST_HARNESS_MAIN
