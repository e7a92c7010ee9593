/** Whether the search box is open (Ctrl/Cmd+K or the Search button). Its code loads only then. */
class SearchBox {
  open = $state(false);
  show() {
    this.open = true;
  }
  hide() {
    this.open = false;
  }
}

export const search = new SearchBox();
