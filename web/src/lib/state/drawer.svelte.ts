/**
 * The thread list's drawer on narrow screens (on wide screens the list is a sidebar and
 * the drawer state is ignored). Created by the app layout and shared through context.
 */
import { getContext, setContext } from 'svelte';

const KEY = Symbol('drawer');

export class Drawer {
  open = $state(false);
  /** Wide screens show the list as a sidebar, always. */
  wide = $state(true);

  constructor() {
    if (typeof window === 'undefined') return;
    const query = matchMedia('(min-width: 900px)');
    this.wide = query.matches;
    query.addEventListener('change', (e) => {
      this.wide = e.matches;
      if (e.matches) this.open = false;
    });
  }

  show() {
    this.open = true;
  }
  hide() {
    this.open = false;
  }
}

export function provideDrawer(drawer: Drawer) {
  setContext(KEY, drawer);
}

export function useDrawer(): Drawer {
  return getContext<Drawer>(KEY);
}
