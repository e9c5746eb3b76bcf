import {createCipheriv, createDecipheriv, createPublicKey, publicEncrypt, randomBytes, constants} from 'node:crypto'
import {textOf} from '../shared/json.js'

export type Encryption = 'aes256-gcm' | {algorithm: 'client-side'; key: string}

/**
 * Port-managed secret inputs: AES-256-GCM keyed by the first 32 bytes of the client secret,
 * sent as base64(IV(16) ‖ ciphertext ‖ tag(16)) — what Port's execution agent decrypts.
 */
export function encryptSecret(plaintext: string, clientSecret: string): string {
  const key = Buffer.from(clientSecret, 'utf8').subarray(0, 32)
  if (key.length < 32) throw new Error('the client secret is shorter than 32 bytes; it cannot key AES-256')
  const iv = randomBytes(16)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')
}

/** The inverse of encryptSecret; undefined when the key does not fit (wrong secret, or not ciphertext). */
export function decryptSecret(ciphertext: string, clientSecret: string): string | undefined {
  try {
    const data = Buffer.from(ciphertext, 'base64')
    if (data.length < 33) return undefined
    const key = Buffer.from(clientSecret, 'utf8').subarray(0, 32)
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 16))
    decipher.setAuthTag(data.subarray(data.length - 16))
    return Buffer.concat([decipher.update(data.subarray(16, data.length - 16)), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}

/**
 * Client-side secret inputs: a fresh AES-256 key encrypts the value (GCM, 12-byte IV) and is
 * wrapped with the action's RSA public key (OAEP, SHA-256): base64(IV ‖ wrapped key ‖ ciphertext+tag).
 */
export function encryptClientSide(plaintext: string, publicKeyPem: string): string {
  const key = randomBytes(32)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
  const wrapped = publicEncrypt(
    {key: createPublicKey(publicKeyPem), oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING},
    key,
  )
  return Buffer.concat([iv, wrapped, body]).toString('base64')
}

export function encryptInput(value: unknown, encryption: Encryption, clientSecret: string | undefined): string {
  const text = textOf(value)
  if (encryption === 'aes256-gcm') {
    if (!clientSecret) throw new Error('encrypting a secret input needs the client secret idp logged in with')
    return encryptSecret(text, clientSecret)
  }
  return encryptClientSide(text, encryption.key)
}
