# pkcs11 fragment
