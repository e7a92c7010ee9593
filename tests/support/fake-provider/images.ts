import type { FakeModule } from './index';

/** Placeholder: the fake provider's images endpoints are added with their feature. */
export function createImagesModule(): FakeModule<{ reset(): void }> {
  return {
    async handle() {
      return null;
    },
    control: { reset() {} },
  };
}
