import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CODE_CIPHER, CodeCipher } from './code-cipher.js';
import { loadKeyRing, type KeyRingOptions } from './encryption-key.js';

/**
 * Provides the one CodeCipher of the process (email codes and OTP codes share the keys): every
 * configured key opens values, one seals (loadKeyRing).
 */
@Global()
@Module({})
export class CryptoModule {
  static forRoot(options: KeyRingOptions): DynamicModule {
    return {
      module: CryptoModule,
      providers: [
        {
          provide: CODE_CIPHER,
          useFactory: () => {
            const { keys, sealingKeyId } = loadKeyRing(options);
            return new CodeCipher(keys, sealingKeyId);
          },
        },
      ],
      exports: [CODE_CIPHER],
    };
  }
}
