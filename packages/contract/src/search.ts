/**
 * Contract v1.3, search that understands words: the two match modes, and the keyboard layout switch that decides
 * (with the storage's own rules) whether a `q` holds a word at all.
 */

export const matchModes = ['substring', 'words'] as const;
export type MatchMode = (typeof matchModes)[number];

// The keys of the English QWERTY layout and what the Russian ЙЦУКЕН layout types on the same keys.
const LATIN = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~";
const CYRILLIC = 'йцукенгшщзхъфывапролджэячсмитьбюёЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ';

const switched = new Map<string, string>();
for (let i = 0; i < LATIN.length; i += 1) {
  switched.set(LATIN[i]!, CYRILLIC[i]!);
  switched.set(CYRILLIC[i]!, LATIN[i]!);
}

/**
 * `text` as typed with the other layout: every key of either layout becomes the other layout's character on the
 * same key (`yjen,er` ↔ `ноутбук`, `фззду` ↔ `apple`); anything else stays.
 */
export function switchLayout(text: string): string {
  return Array.from(text, (char) => switched.get(char) ?? char).join('');
}

const wordCharacter = /[\p{L}\p{N}]/u;

/** Whether `q` or its layout twin holds a letter or a digit: a words search of a `q` that does not is a 422 at `q`. */
export function holdsWord(q: string): boolean {
  return wordCharacter.test(q) || wordCharacter.test(switchLayout(q));
}
