import { Column, CreatedAt, DataType, HasMany, Model, Table, UpdatedAt } from 'sequelize-typescript';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute } from 'sequelize';
import { Product } from './product.js';

/** Attributes are named as their columns and as the contract's fields; `product_count` is derived, never stored. */
@Table({ tableName: 'categories', underscored: true, timestamps: true })
export class Category extends Model<InferAttributes<Category>, InferCreationAttributes<Category>> {
  @Column({ type: DataType.INTEGER, primaryKey: true, autoIncrement: true })
  declare id: CreationOptional<number>;

  @Column({ type: DataType.STRING(100), allowNull: false })
  declare name: string;

  @Column({ type: DataType.STRING(2000), allowNull: true })
  declare description: CreationOptional<string | null>;

  /** 1 on create; the database adds 1 on every change (a trigger), whichever path makes it. */
  @Column({ type: DataType.INTEGER, allowNull: false, defaultValue: 1 })
  declare version: CreationOptional<number>;

  @CreatedAt
  @Column({ type: DataType.DATE, allowNull: false })
  declare created_at: CreationOptional<Date>;

  @UpdatedAt
  @Column({ type: DataType.DATE, allowNull: false })
  declare updated_at: CreationOptional<Date>;

  @HasMany(() => Product)
  declare products?: NonAttribute<Product[]>;
}
