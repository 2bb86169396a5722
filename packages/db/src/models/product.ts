import { BelongsTo, Column, CreatedAt, DataType, ForeignKey, Model, Table, UpdatedAt } from 'sequelize-typescript';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute } from 'sequelize';
import { Category } from './category.js';

@Table({ tableName: 'products', underscored: true, timestamps: true })
export class Product extends Model<InferAttributes<Product>, InferCreationAttributes<Product>> {
  @Column({ type: DataType.INTEGER, primaryKey: true, autoIncrement: true })
  declare id: CreationOptional<number>;

  @Column({ type: DataType.STRING(200), allowNull: false })
  declare name: string;

  @Column({ type: DataType.STRING(5000), allowNull: true })
  declare description: CreationOptional<string | null>;

  // NUMERIC(10,2) arrives from pg as an exact decimal string; every value it can hold is exact as a double.
  @Column({
    type: DataType.DECIMAL(10, 2),
    allowNull: false,
    get(this: Product): number {
      return Number(this.getDataValue('price'));
    },
  })
  declare price: number;

  @Column({ type: DataType.INTEGER, allowNull: false, defaultValue: 0 })
  declare quantity: CreationOptional<number>;

  @Column({
    type: DataType.VIRTUAL(DataType.BOOLEAN, ['quantity']),
    get(this: Product): boolean {
      return this.getDataValue('quantity') > 0;
    },
  })
  declare inStock: CreationOptional<boolean>;

  @Column({ type: DataType.STRING(64), allowNull: true, unique: true })
  declare sku: CreationOptional<string | null>;

  @ForeignKey(() => Category)
  @Column({ type: DataType.INTEGER, allowNull: true })
  declare categoryId: CreationOptional<number | null>;

  @BelongsTo(() => Category)
  declare category?: NonAttribute<Category | null>;

  @CreatedAt
  @Column({ type: DataType.DATE, allowNull: false })
  declare createdAt: CreationOptional<Date>;

  @UpdatedAt
  @Column({ type: DataType.DATE, allowNull: false })
  declare updatedAt: CreationOptional<Date>;
}
