/** A tiny element builder and the page's icons: enough DOM help to keep the views readable. */

export type Child = Node | string | null | undefined | false;

/** Attributes by name; `true` sets an empty attribute, `false`/`null`/`undefined` leaves it out. */
export type Attrs = Record<string, string | number | boolean | null | undefined>;

/** Creates `<tag>` with attributes and children (strings become text nodes, never HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children, skipping the empty ones. */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Replaces all children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

const SAFE_SCHEMES = new Set(["http:", "https:", "blob:"]);

/**
 * `url` made absolute when it is fit for an img src or a link (http, https, blob), else
 * undefined: image URLs come from the server, and a `javascript:` or `data:` one is refused.
 */
export function safeUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url, document.baseURI);
    return SAFE_SCHEMES.has(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** Adds an event listener and returns the element, so it can be used inline. */
export function on<E extends HTMLElement, K extends keyof HTMLElementEventMap>(
  el: E,
  type: K,
  listener: (event: HTMLElementEventMap[K]) => void,
): E {
  el.addEventListener(type, listener);
  return el;
}

/** A `<button type="button">` that calls `onClick`. */
export function button(
  attrs: Attrs,
  children: Child[],
  onClick: (event: MouseEvent) => void,
): HTMLButtonElement {
  return on(h("button", { type: "button", ...attrs }, ...children), "click", onClick);
}

// Icons are constant SVG markup (24×24, stroked with currentColor), never user data.
const ICONS = {
  plus: '<path d="M12 5v14M5 12h14"/>',
  trash:
    '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3"/>',
  send: '<path d="M5 12h13M12 5l7 7-7 7"/>',
  close: '<path d="M6 6l12 12M18 6L6 18"/>',
  chats: '<path d="M4 5h16v10H8l-4 4z"/>',
  chevronLeft: '<path d="M15 5l-7 7 7 7"/>',
  chevronRight: '<path d="M9 5l7 7-7 7"/>',
  spark:
    '<path d="M12 3l1.9 5.1L19 10l-5.1 1.9L12 17l-1.9-5.1L5 10l5.1-1.9z"/>' +
    '<path d="M19 16l.8 2.2L22 19l-2.2.8L19 22l-.8-2.2L16 19l2.2-.8z"/>',
  alert: '<path d="M12 8v5M12 16.5v.5"/><circle cx="12" cy="12" r="9"/>',
  image:
    '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/>' +
    '<path d="M21 16l-5-5-9 9"/>',
  download: '<path d="M12 4v11M7 10l5 5 5-5M5 20h14"/>',
  stop: '<rect x="7" y="7" width="10" height="10" rx="1.5"/>',
  retry: '<path d="M20 12a8 8 0 1 1-2.3-5.7M20 4v5h-5"/>',
  paperclip:
    '<path d="M20.5 11.5l-8.1 8.1a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5' +
    'a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8"/>',
  wand: '<path d="M4 20L15 9M13 7l2 2M17 3v3M15.5 4.5h3M20 8v2M19 9h2M9 3v2M8 4h2"/>',
  continue: '<path d="M5 4v7a4 4 0 0 0 4 4h10M15 11l4 4-4 4"/>',
  shuffle:
    '<path d="M4 7h3a5 5 0 0 1 4 2l2 6a5 5 0 0 0 4 2h3M17 4l3 3-3 3M4 17h3l2-2M13 9l2-2h5"/>',
  copy: '<rect x="9" y="9" width="11" height="11" rx="2"/><path d="M5 15V6a2 2 0 0 1 2-2h8"/>',
  check: '<path d="M5 12.5l4.5 4.5L19 7"/>',
} as const;

export type IconName = keyof typeof ICONS;

/** An inline SVG icon, hidden from assistive technology (its button carries the label). */
export function icon(name: IconName): SVGSVGElement {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.innerHTML = ICONS[name];
  return svg;
}
