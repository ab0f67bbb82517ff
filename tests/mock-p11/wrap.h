/*
 * wrap.h - mock-p11's pass-through mode and its lies about private keys
 * (wrap.c).
 */
#ifndef CB_MOCK_P11_WRAP_H
#define CB_MOCK_P11_WRAP_H

#include <p11-kit/pkcs11.h>

/*
 * The function list a loader gets: own when neither MOCK_P11_WRAP nor
 * MOCK_P11_PRIVATE_KEYS is set, else the wrapped module's (or own) with
 * the attribute calls replaced; NULL when the module to wrap cannot load.
 */
CK_FUNCTION_LIST *wrap_function_list(CK_FUNCTION_LIST *own);

#endif /* CB_MOCK_P11_WRAP_H */
