import { BelongsTo, Column, DataType, ForeignKey, Model, Table } from 'sequelize-typescript';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute } from 'sequelize';
import { Reservation } from './reservation.js';

/**
 * One product held by a reservation. `held_until` is the reservation's `expires_at` while it holds the units and
 * null once committed, released or swept: a product's `reserved` sums the items held past the instant of the read.
 * `product_id` has no foreign key: items keep it after the product is deleted.
 */
@Table({ tableName: 'reservation_items', underscored: true, timestamps: false })
export class ReservationItem extends Model<InferAttributes<ReservationItem>, InferCreationAttributes<ReservationItem>> {
  @ForeignKey(() => Reservation)
  @Column({ type: DataType.UUID, primaryKey: true })
  declare reservation_id: string;

  @Column({ type: DataType.INTEGER, primaryKey: true })
  declare product_id: number;

  @Column({ type: DataType.INTEGER, allowNull: false })
  declare quantity: number;

  @Column({ type: DataType.DATE, allowNull: true })
  declare held_until: CreationOptional<Date | null>;

  @BelongsTo(() => Reservation)
  declare reservation?: NonAttribute<Reservation>;
}
