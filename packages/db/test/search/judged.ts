/**
 * A judged set for search by words (contract v1.3): a small catalog and queries with the names they must find
 * (`expect`) and must never find (`forbid`), over every rule: forms, ё, diacritics, punctuation, word order,
 * layouts both ways, transliteration both ways, typos at the length limits, prefixes, and queries that must find
 * nothing. `evaluate` runs them and scores recall@5 and MRR; `pnpm search:eval` prints it, search-eval.test.ts
 * keeps it.
 */
import type { Database } from '../../src/connection/database.js';
import { searchWords } from '../../src/search/ranked.js';

/** The catalog, oldest first. */
export const catalog = [
  'Ноутбук Lenovo IdeaPad 5',
  'Ноутбук ASUS Vivobook 15',
  'Игровой ноутбук Acer Nitro',
  'Смартфон Samsung Galaxy A55',
  'Смартфон Apple iPhone 15',
  'Телевизор Samsung 55" QLED',
  'Монитор LG UltraGear 27',
  'Наушники Sony WH-1000XM5',
  'Роутер TP-Link Wi-Fi 6',
  'Кабель USB-C 2 м',
  'Чайник электрический Bork K810',
  'Холодильник Атлант двухкамерный',
  'Пылесос Dyson V15',
  'Утюг Philips Azur',
  'Стол обеденный раскладной',
  'Стул деревянный',
  'Стулья для кухни, 4 шт.',
  'Кресло IKEA Poäng, берёза',
  'Диван угловой IKEA Friheten',
  'Шкаф-купе Шатура',
  'Кровать двуспальная',
  'Ёлка искусственная 180 см',
  'Чёрный свитер оверсайз',
  'Джинсы Levi’s 501',
  'Шампунь L\'Oréal Elseve',
  'Кроссовки Nike Air Max',
  'Куртка зимняя The North Face',
  'Шапка вязаная',
  'Сумка кожаная',
  'Книга «Мастер и Маргарита»',
  'Book of Kells',
  'Running shoes Adidas',
  'Йогурт клубничный',
  'Майка спортивная',
  'Сковородка Tefal 28 см',
  'Лампа настольная',
  'Müller молоко 3,2%',
  'Crème brûlée десерт',
  'Мышь беспроводная Logitech',
  'Кит игрушечный',
] as const;

export interface Judged {
  q: string;
  /** Names that must be found (recall@5 counts the first five answers). */
  expect: string[];
  /** Names that must never be found, anywhere in the answer. */
  forbid?: string[];
  kind: string;
}

const laptops = ['Игровой ноутбук Acer Nitro', 'Ноутбук ASUS Vivobook 15', 'Ноутбук Lenovo IdeaPad 5'];
const phones = ['Смартфон Apple iPhone 15', 'Смартфон Samsung Galaxy A55'];
const samsung = ['Телевизор Samsung 55" QLED', 'Смартфон Samsung Galaxy A55'];
const chairs = ['Стулья для кухни, 4 шт.', 'Стул деревянный'];
const nothing = (q: string, kind: string, forbid: string[] = []): Judged => ({ q, expect: [], forbid, kind });

export const judged: Judged[] = [
  // Word forms (Snowball): plural and case forms, Russian and English.
  ...['ноутбуки', 'ноутбука', 'ноутбуком', 'ноутбуками', 'НОУТБУКИ'].map((q) => ({ q, expect: laptops, kind: 'form' })),
  ...['смартфоны', 'смартфонов', 'смартфону'].map((q) => ({ q, expect: phones, kind: 'form' })),
  { q: 'телевизоры', expect: ['Телевизор Samsung 55" QLED'], kind: 'form' },
  { q: 'мониторов', expect: ['Монитор LG UltraGear 27'], kind: 'form' },
  { q: 'наушников', expect: ['Наушники Sony WH-1000XM5'], kind: 'form' },
  { q: 'чайники', expect: ['Чайник электрический Bork K810'], kind: 'form' },
  { q: 'диваны', expect: ['Диван угловой IKEA Friheten'], kind: 'form' },
  { q: 'кресла', expect: ['Кресло IKEA Poäng, берёза'], kind: 'form' },
  { q: 'стулом', expect: chairs, forbid: ['Стол обеденный раскладной'], kind: 'form' },
  { q: 'столы', expect: ['Стол обеденный раскладной'], forbid: chairs, kind: 'form' },
  { q: 'кроссовками', expect: ['Кроссовки Nike Air Max'], kind: 'form' },
  { q: 'шапку', expect: ['Шапка вязаная'], kind: 'form' },
  { q: 'сумки', expect: ['Сумка кожаная'], kind: 'form' },
  { q: 'куртки', expect: ['Куртка зимняя The North Face'], kind: 'form' },
  { q: 'книги', expect: ['Книга «Мастер и Маргарита»'], kind: 'form' },
  { q: 'сковородки', expect: ['Сковородка Tefal 28 см'], kind: 'form' },
  { q: 'books', expect: ['Book of Kells'], kind: 'form' },
  { q: 'run', expect: ['Running shoes Adidas'], kind: 'form' },
  { q: 'shoe', expect: ['Running shoes Adidas'], kind: 'form' },
  // ё and е, letter case, Latin diacritics; й is not и.
  { q: 'береза', expect: ['Кресло IKEA Poäng, берёза'], kind: 'ё' },
  { q: 'БЕРЁЗА', expect: ['Кресло IKEA Poäng, берёза'], kind: 'ё' },
  { q: 'елка', expect: ['Ёлка искусственная 180 см'], kind: 'ё' },
  { q: 'ёлки', expect: ['Ёлка искусственная 180 см'], kind: 'ё' },
  { q: 'черный свитер', expect: ['Чёрный свитер оверсайз'], kind: 'ё' },
  { q: 'poang', expect: ['Кресло IKEA Poäng, берёза'], kind: 'diacritics' },
  { q: 'muller', expect: ['Müller молоко 3,2%'], kind: 'diacritics' },
  { q: 'creme brulee', expect: ['Crème brûlée десерт'], kind: 'diacritics' },
  { q: 'Crème', expect: ['Crème brûlée десерт'], kind: 'diacritics' },
  { q: 'йогурт', expect: ['Йогурт клубничный'], kind: 'й' },
  // Punctuation: apostrophes deleted, everything else separates words.
  { q: 'levis', expect: ['Джинсы Levi’s 501'], kind: 'punctuation' },
  { q: "levi's 501", expect: ['Джинсы Levi’s 501'], kind: 'punctuation' },
  { q: 'loreal', expect: ["Шампунь L'Oréal Elseve"], kind: 'punctuation' },
  { q: 'wi-fi роутер', expect: ['Роутер TP-Link Wi-Fi 6'], kind: 'punctuation' },
  { q: 'usb c', expect: ['Кабель USB-C 2 м'], kind: 'punctuation' },
  { q: 'шкаф купе', expect: ['Шкаф-купе Шатура'], kind: 'punctuation' },
  { q: 'молоко 3.2', expect: ['Müller молоко 3,2%'], kind: 'punctuation' },
  { q: '«мастер» и маргарита!', expect: ['Книга «Мастер и Маргарита»'], kind: 'punctuation' },
  // Every word, any order.
  { q: 'lenovo ноутбук', expect: ['Ноутбук Lenovo IdeaPad 5'], forbid: ['Ноутбук ASUS Vivobook 15'], kind: 'order' },
  { q: 'samsung телевизор', expect: ['Телевизор Samsung 55" QLED'], forbid: ['Смартфон Samsung Galaxy A55'], kind: 'order' },
  { q: 'bork чайник', expect: ['Чайник электрический Bork K810'], kind: 'order' },
  { q: 'ноутбук игровой', expect: ['Игровой ноутбук Acer Nitro'], kind: 'order' },
  { q: 'ikea береза кресло', expect: ['Кресло IKEA Poäng, берёза'], kind: 'order' },
  nothing('ноутбук samsung', 'order', laptops),
  // The other keyboard layout, both ways (punctuation keys included).
  { q: 'yjen,er', expect: laptops, kind: 'layout' },
  { q: 'xfqybr', expect: ['Чайник электрический Bork K810'], kind: 'layout' },
  { q: 'cnekmz', expect: chairs, kind: 'layout' },
  { q: 'ntktdbpjh', expect: ['Телевизор Samsung 55" QLED'], kind: 'layout' },
  { q: 'фззду', expect: phones.filter((name) => name.includes('Apple')), kind: 'layout' },
  { q: 'ыфьыгтп', expect: samsung, kind: 'layout' },
  { q: 'дутщмщ', expect: ['Ноутбук Lenovo IdeaPad 5'], kind: 'layout' },
  { q: 'ищкл', expect: ['Чайник электрический Bork K810'], kind: 'layout' },
  { q: 'yjen,erb', expect: laptops, kind: 'layout' },
  { q: 'ыфьыгтп ntktdbpjh', expect: ['Телевизор Samsung 55" QLED'], kind: 'layout' },
  nothing('yjen,er lenovo', 'layout', laptops),
  // Transliteration, both ways.
  { q: 'самсунг', expect: samsung, kind: 'transliteration' },
  { q: 'леново', expect: ['Ноутбук Lenovo IdeaPad 5'], kind: 'transliteration' },
  { q: 'борк', expect: ['Чайник электрический Bork K810'], kind: 'transliteration' },
  { q: 'noutbuk', expect: laptops, kind: 'transliteration' },
  { q: 'chainik', expect: ['Чайник электрический Bork K810'], kind: 'transliteration' },
  { q: 'shkaf', expect: ['Шкаф-купе Шатура'], kind: 'transliteration' },
  { q: 'kholodilnik', expect: ['Холодильник Атлант двухкамерный'], kind: 'transliteration' },
  { q: 'atlant', expect: ['Холодильник Атлант двухкамерный'], kind: 'transliteration' },
  { q: 'iogurt', expect: ['Йогурт клубничный'], kind: 'transliteration' },
  // Typos: one edit at 5–8 letters, two past 8, none under 5; a swap of neighbours is one edit.
  { q: 'нотбук', expect: laptops, kind: 'typo' },
  { q: 'ноутубк', expect: laptops, kind: 'typo' },
  { q: 'чайнек', expect: ['Чайник электрический Bork K810'], kind: 'typo' },
  { q: 'диваг', expect: ['Диван угловой IKEA Friheten'], kind: 'typo' },
  { q: 'крело', expect: ['Кресло IKEA Poäng, берёза'], kind: 'typo' },
  { q: 'смартфно', expect: phones, kind: 'typo' },
  { q: 'холдилник', expect: ['Холодильник Атлант двухкамерный'], kind: 'typo' },
  { q: 'телевзиор', expect: ['Телевизор Samsung 55" QLED'], kind: 'typo' },
  { q: 'samsnug', expect: samsung, kind: 'typo' },
  { q: 'lenova', expect: ['Ноутбук Lenovo IdeaPad 5'], kind: 'typo' },
  nothing('дивгг', 'typo', ['Диван угловой IKEA Friheten']),
  nothing('хлдилнк', 'typo', ['Холодильник Атлант двухкамерный']),
  nothing('тлвзиор', 'typo', ['Телевизор Samsung 55" QLED']),
  // Near misses under 5 letters: no typo allowed.
  { q: 'стол', expect: ['Стол обеденный раскладной'], forbid: chairs, kind: 'near miss' },
  { q: 'стул', expect: chairs, forbid: ['Стол обеденный раскладной'], kind: 'near miss' },
  { q: 'кот', expect: [], forbid: ['Кит игрушечный'], kind: 'near miss' },
  { q: 'мыло', expect: [], forbid: ['Мышь беспроводная Logitech'], kind: 'near miss' },
  { q: 'утюк', expect: [], forbid: ['Утюг Philips Azur'], kind: 'near miss' },
  // Prefixes: the last word, 3 letters or more.
  { q: 'ноутб', expect: laptops, kind: 'prefix' },
  { q: 'холод', expect: ['Холодильник Атлант двухкамерный'], kind: 'prefix' },
  { q: 'samsung теле', expect: ['Телевизор Samsung 55" QLED'], forbid: ['Смартфон Samsung Galaxy A55'], kind: 'prefix' },
  { q: 'крос', expect: ['Кроссовки Nike Air Max'], kind: 'prefix' },
  { q: 'пыл', expect: ['Пылесос Dyson V15'], kind: 'prefix' },
  nothing('пы', 'prefix', ['Пылесос Dyson V15']),
  nothing('ноутб lenovo', 'prefix', laptops),
  // Nothing to find.
  nothing('вертолет', 'nothing'),
  nothing('xyzzy', 'nothing'),
  nothing('абракадабра', 'nothing'),
  nothing('ноутбук 999', 'nothing', laptops),
];

export interface Score {
  queries: number;
  recallAt5: number;
  mrr: number;
  forbidden: number;
  failures: string[];
}

/** Fills `db` (an empty migrated database) with the catalog, oldest first. */
export async function load(db: Database): Promise<void> {
  await db.sequelize.query(`INSERT INTO products (name, price) SELECT name, 1 FROM unnest($1::varchar[]) WITH ORDINALITY AS c (name, i) ORDER BY i`, { bind: [[...catalog]] });
}

/** Runs every judged query as a words search and scores the answers. */
export async function evaluate(db: Database): Promise<Score> {
  let recall = 0;
  let reciprocal = 0;
  let forbidden = 0;
  const failures: string[] = [];
  for (const item of judged) {
    const page = await searchWords(db, item.q, {}, { skip: 0, limit: 100, order: 'desc', count: 'none' });
    const names = page.rows.map((row) => row.name);
    const top = names.slice(0, 5);
    const wanted = item.expect.length ? item.expect.filter((name) => top.includes(name)).length / Math.min(item.expect.length, 5) : names.length ? 0 : 1;
    const first = item.expect.length ? names.findIndex((name) => item.expect.includes(name)) : names.length ? -1 : 0;
    const banned = names.filter((name) => item.forbid?.includes(name));
    recall += wanted;
    reciprocal += first < 0 ? 0 : 1 / (first + 1);
    forbidden += banned.length;
    if (wanted < 1 || banned.length) failures.push(`[${item.kind}] ${item.q}: expected ${JSON.stringify(item.expect)}, got ${JSON.stringify(names.slice(0, 6))}`);
  }
  return { queries: judged.length, recallAt5: recall / judged.length, mrr: reciprocal / judged.length, forbidden, failures };
}
