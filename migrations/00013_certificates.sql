-- +goose Up

-- A client-credentials connection can prove its app with a certificate
-- instead of a client secret. The credential itself (the PKCS#8 private key
-- with its certificate) is sealed in client_secret_enc like a secret, and
-- its expiry is the certificate's, in client_secret_expires_at, so expiry
-- warnings and rotation treat both alike. The SHA-256 thumbprint is public
-- (the Azure portal lists it) and is what the pages show; it is set exactly
-- when the stored credential is a certificate.
ALTER TABLE connections ADD COLUMN client_certificate_thumbprint text
  CHECK (client_certificate_thumbprint ~ '^[0-9A-F]{64}$');

-- +goose Down
ALTER TABLE connections DROP COLUMN client_certificate_thumbprint;
