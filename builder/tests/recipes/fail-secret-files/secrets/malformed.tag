hlb-secret-tag-v1
name malformed
lab-key XYZ
hmac-sha256 00
