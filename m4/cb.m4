dnl CB_TRY_CFLAG(FLAGS, ACTION-IF-OK): can the compiler take FLAGS?
AC_DEFUN([CB_TRY_CFLAG], [
	AC_MSG_CHECKING([whether $CC accepts $1])
	cb_save_CFLAGS="$CFLAGS"
	CFLAGS="$CFLAGS $1 -Werror"
	AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [return 0;])],
		[AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no])])
	CFLAGS="$cb_save_CFLAGS"])

dnl CB_TRY_LDFLAG(FLAGS, ACTION-IF-OK): can the linker take FLAGS?
AC_DEFUN([CB_TRY_LDFLAG], [
	AC_MSG_CHECKING([whether the linker accepts $1])
	cb_save_LDFLAGS="$LDFLAGS"
	LDFLAGS="$LDFLAGS $1"
	AC_LINK_IFELSE([AC_LANG_PROGRAM([], [return 0;])],
		[AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no])])
	LDFLAGS="$cb_save_LDFLAGS"])

dnl AX_PTHREAD_SIMPLE: POSIX threads through -pthread (glibc only target).
AC_DEFUN([AX_PTHREAD_SIMPLE], [
	PTHREAD_CFLAGS="-pthread"
	PTHREAD_LIBS="-pthread"
	AC_SUBST([PTHREAD_CFLAGS])
	AC_SUBST([PTHREAD_LIBS])])
