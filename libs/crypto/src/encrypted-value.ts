/** Encrypted secret (AES-256-GCM): never a code in plain text. */
export type EncryptedValue = {
  /** Which key encrypted it (key rotation). */
  keyId: string;
  /** base64 of iv (12 bytes) | ciphertext | tag (16 bytes). */
  crypted: string;
};
