import { BelongsTo, Column, CreatedAt, DataType, ForeignKey, Model, Table, UpdatedAt } from 'sequelize-typescript';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute } from 'sequelize';
import { Category } from './category.js';

/** Attributes are named as their columns and as the contract's fields, so one name serves every layer. */
@Table({ tableName: 'products', underscored: true, timestamps: true })
export class Product extends Model<InferAttributes<Product>, InferCreationAttributes<Product>> {
  @Column({ type: DataType.INTEGER, primaryKey: true, autoIncrement: true })
  declare id: CreationOptional<number>;

  @Column({ type: DataType.STRING(200), allowNull: false })
  declare name: string;

  @Column({ type: DataType.STRING(5000), allowNull: true })
  declare description: CreationOptional<string | null>;

  /** NUMERIC(10,2) as exact decimal text ("74990.50"), both ways: no binary float between client and column. */
  @Column({ type: DataType.DECIMAL(10, 2), allowNull: false })
  declare price: string;

  @Column({ type: DataType.INTEGER, allowNull: false, defaultValue: 0 })
  declare quantity: CreationOptional<number>;

  @Column({ type: DataType.STRING(64), allowNull: true, unique: true })
  declare sku: CreationOptional<string | null>;

  @ForeignKey(() => Category)
  @Column({ type: DataType.INTEGER, allowNull: true })
  declare category_id: CreationOptional<number | null>;

  @BelongsTo(() => Category)
  declare category?: NonAttribute<Category | null>;

  /** 1 on create; the database adds 1 on every change (a trigger), whichever path makes it. */
  @Column({ type: DataType.INTEGER, allowNull: false, defaultValue: 1 })
  declare version: CreationOptional<number>;

  @CreatedAt
  @Column({ type: DataType.DATE, allowNull: false })
  declare created_at: CreationOptional<Date>;

  @UpdatedAt
  @Column({ type: DataType.DATE, allowNull: false })
  declare updated_at: CreationOptional<Date>;
}
