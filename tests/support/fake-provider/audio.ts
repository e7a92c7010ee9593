import type { FakeModule } from './index';

/** Placeholder: the fake provider's audio endpoints are added with their feature. */
export function createAudioModule(): FakeModule<{ reset(): void }> {
  return {
    async handle() {
      return null;
    },
    control: { reset() {} },
  };
}
