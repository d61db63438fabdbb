import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CODE_CIPHER, CodeCipher } from './code-cipher.js';
import { loadEncryptionKey } from './encryption-key.js';

/** Provides the one CodeCipher of the process (email codes and OTP codes share the key). */
@Global()
@Module({})
export class CryptoModule {
  static forRoot(options: { key?: Buffer; dataDir: string }): DynamicModule {
    return {
      module: CryptoModule,
      providers: [{ provide: CODE_CIPHER, useFactory: () => new CodeCipher(loadEncryptionKey(options)) }],
      exports: [CODE_CIPHER],
    };
  }
}
