/*
 * dirscan: every entry of one directory, in no particular order. Used by
 * pop3d's mailbox scan. A large ext4 directory with a hash index is read
 * by several threads, each a range of hashes.
 * Trusts nothing in the names: it only hands them on.
 */
#ifndef POMBO_POP3D_DIRSCAN_H
#define POMBO_POP3D_DIRSCAN_H

/*
 * Called for each entry but "." and "..", never by two threads at once.
 * A non-zero return stops the scan, and dirscan returns -1 with errno as
 * the callback left it.
 */
typedef int (*dirscan_fn)(void *arg, const char *name, unsigned char type);

/*
 * Read the directory dfd (not moved: the readers use descriptors of their
 * own). Every entry there for the whole scan comes at least once, and
 * exactly once unless names are added meanwhile: a caller that must not
 * see a name twice drops repeats. Returns the number of readers used (1
 * unless the directory was read in parallel), or -1.
 */
int dirscan(int dfd, dirscan_fn fn, void *arg);

#endif
