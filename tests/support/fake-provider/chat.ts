import type { FakeModule } from './index';

/** Placeholder: the fake provider's chat endpoints are added with their feature. */
export function createChatModule(): FakeModule<{ reset(): void }> {
  return {
    async handle() {
      return null;
    },
    control: { reset() {} },
  };
}
