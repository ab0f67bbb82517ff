/*
 * fdio.h - all of a buffer onto a file descriptor, through short writes
 * and EINTR (fdio.c).  Every program writes its files and pipes this way.
 */
#ifndef CB_FDIO_H
#define CB_FDIO_H

#include <stddef.h>

/* 0 when all len bytes were written; -1 with errno set when not. */
int cb_write_all(int fd, const void *buf, size_t len);

#endif /* CB_FDIO_H */
