/// <reference types="vite-plugin-pwa/client" />
/// <reference types="vite-plugin-pwa/info" />
/// <reference types="@sveltejs/kit" />

declare global {
  namespace App {}
}

export {};
