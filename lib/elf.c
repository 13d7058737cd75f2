// SPDX-License-Identifier: GPL-2.0-only
/*
 * The test's own ELF: the image the guest runs, and symbol names for
 * reports.
 *
 * Test binaries are static and non-PIE, so the addresses in the file are
 * the addresses the host runs at; loading the PT_LOAD segments at the same
 * guest addresses makes guest functions and globals usable by their C names.
 * The image is built from the file, not from the running process, so the
 * guest starts with the initial values of globals whatever the host has
 * done to its own copies since.
 */
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm_util.h"

static uint8_t *elf_file;
static size_t elf_file_size;
static struct elf_image image;
static pthread_once_t elf_once = PTHREAD_ONCE_INIT;

static void read_self(void)
{
	struct stat st;
	ssize_t n;
	size_t done = 0;
	int fd;

	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open /proc/self/exe");
	TEST_ASSERT(!fstat(fd, &st), "fstat /proc/self/exe");
	elf_file_size = st.st_size;
	elf_file = malloc(elf_file_size);
	TEST_ASSERT(elf_file, "out of memory reading own ELF (%zu bytes)", elf_file_size);
	while (done < elf_file_size) {
		n = read(fd, elf_file + done, elf_file_size - done);
		TEST_ASSERT(n > 0, "read /proc/self/exe");
		done += n;
	}
	close(fd);
}

static void build_image(void)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;

	read_self();
	eh = (const Elf64_Ehdr *)elf_file;
	TEST_ASSERT(elf_file_size > sizeof(*eh) && !memcmp(eh->e_ident, ELFMAG, SELFMAG) &&
		    eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_machine == EM_X86_64,
		    "/proc/self/exe is not an x86-64 ELF");
	TEST_ASSERT(eh->e_type == ET_EXEC,
		    "test binaries must be linked static non-PIE (ELF type %u)", eh->e_type);

	image.lo = UINT64_MAX;
	ph = (const Elf64_Phdr *)(elf_file + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr < image.lo)
			image.lo = ph[i].p_vaddr;
		if (ph[i].p_vaddr + ph[i].p_memsz > image.hi)
			image.hi = ph[i].p_vaddr + ph[i].p_memsz;
	}
	image.lo = ALIGN_DOWN(image.lo, PAGE_SIZE);
	image.hi = ALIGN_UP(image.hi, PAGE_SIZE);
	TEST_ASSERT(image.hi > image.lo && image.hi < 1 * GiB,
		    "unexpected ELF span %#lx-%#lx", image.lo, image.hi);
	image.image = calloc(1, image.hi - image.lo);
	TEST_ASSERT(image.image, "out of memory");
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		TEST_ASSERT(ph[i].p_offset + ph[i].p_filesz <= elf_file_size, "truncated ELF");
		memcpy(image.image + (ph[i].p_vaddr - image.lo), elf_file + ph[i].p_offset,
		       ph[i].p_filesz);
	}
}

const struct elf_image *self_elf_image(void)
{
	pthread_once(&elf_once, build_image);
	return &image;
}

const char *symbolize(uint64_t addr, char *buf, size_t len)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	const Elf64_Sym *best = NULL;
	const char *best_strtab = NULL;

	self_elf_image();
	eh = (const Elf64_Ehdr *)elf_file;
	sh = (const Elf64_Shdr *)(elf_file + eh->e_shoff);
	if (!eh->e_shoff || eh->e_shoff >= elf_file_size)
		goto none;
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *syms;
		const char *strtab;

		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		syms = (const Elf64_Sym *)(elf_file + sh[i].sh_offset);
		strtab = (const char *)elf_file + sh[sh[i].sh_link].sh_offset;
		for (size_t j = 0; j < sh[i].sh_size / sizeof(*syms); j++) {
			const Elf64_Sym *s = &syms[j];

			if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_value > addr)
				continue;
			if (addr >= s->st_value + (s->st_size ? s->st_size : 1))
				continue;
			best = s;
			best_strtab = strtab;
		}
	}
	if (best) {
		snprintf(buf, len, "%s+%#lx", best_strtab + best->st_name,
			 (unsigned long)(addr - best->st_value));
		return buf;
	}
none:
	snprintf(buf, len, "?");
	return buf;
}
