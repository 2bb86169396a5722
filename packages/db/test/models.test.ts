import { describe, expect, it } from 'vitest';
import { useMigratedDatabase } from '../src/fixture.js';

const db = useMigratedDatabase();

describe('models', () => {
  it('round-trip every field of a category and a product, Cyrillic included', async () => {
    const category = await db.Category.create({ name: 'Электроника', description: 'Ноутбуки и смартфоны' });
    const fields = {
      name: 'Ноутбук Lenovo IdeaPad 5',
      description: '14", 16 GB RAM — «тонкий и лёгкий» 🚀',
      price: '74990.50',
      quantity: 12,
      sku: 'LEN-IP5-14',
      category_id: category.id,
    };
    const created = await db.Product.create(fields);
    const product = await db.Product.findByPk(created.id, { include: [db.Category] });
    expect(product?.toJSON()).toMatchObject({
      ...fields,
      id: created.id,
      category: { id: category.id, name: 'Электроника', description: 'Ноутбуки и смартфоны' },
    });
    expect(product?.created_at).toBeInstanceOf(Date);
    expect(product?.updated_at).toBeInstanceOf(Date);
  });

  it('apply the defaults: quantity 0, optional fields null', async () => {
    const product = await db.Product.create({ name: 'Пустой склад', price: '1' });
    const fresh = await db.Product.findByPk(product.id);
    expect(fresh?.toJSON()).toMatchObject({ quantity: 0, sku: null, description: null, category_id: null });
  });

  it.each([19.99, 0.01, 0, 99_999_999.99, 12_345_678.9])('store price %s exactly', async (price) => {
    const product = await db.Product.create({ name: `Цена ${price}`, price: price.toFixed(2) });
    const [rows] = await db.sequelize.query('SELECT price::text AS text FROM products WHERE id = $1', { bind: [product.id] });
    expect((rows as { text: string }[])[0]?.text).toBe(price.toFixed(2));
    expect(Number((await db.Product.findByPk(product.id))?.price)).toBe(price);
  });
});
