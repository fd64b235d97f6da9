/*
 * attr — compiler attributes the tree uses, behind one name each.
 *
 * MUST_CHECK marks a function whose result says whether it worked (a
 * negative errno, NULL, or a length with an error value): ignoring it is a
 * bug, so the compiler warns. Not for functions whose result is only a
 * convenience.
 */
#ifndef GATECAST_COMMON_ATTR_H
#define GATECAST_COMMON_ATTR_H

#if defined(__GNUC__) || defined(__clang__)
#define MUST_CHECK __attribute__((warn_unused_result))
#else
#define MUST_CHECK
#endif

#endif
