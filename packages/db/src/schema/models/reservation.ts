import { Column, CreatedAt, DataType, HasMany, Model, Table, UpdatedAt } from 'sequelize-typescript';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute } from 'sequelize';
import { ReservationItem } from './reservation-item.js';

/** As stored: `expired` once the sweeper wrote it (an `active` one past `expires_at` is expired already). */
export type ReservationState = 'active' | 'committed' | 'released' | 'expired';

/**
 * Contract v1.3: a hold on stock. `state` is what was last written; the status a client sees is computed at the read
 * (an `active` one past `expires_at` is `expired`, whether or not the sweeper wrote it so).
 */
@Table({ tableName: 'reservations', underscored: true, timestamps: true })
export class Reservation extends Model<InferAttributes<Reservation>, InferCreationAttributes<Reservation>> {
  @Column({ type: DataType.UUID, primaryKey: true, defaultValue: DataType.UUIDV4 })
  declare id: CreationOptional<string>;

  @Column({ type: DataType.STRING(16), allowNull: false, defaultValue: 'active' })
  declare state: CreationOptional<ReservationState>;

  @Column({ type: DataType.STRING(200), allowNull: true })
  declare reference: CreationOptional<string | null>;

  @Column({ type: DataType.DATE, allowNull: false })
  declare expires_at: Date;

  /** 1 on create; +1 on commit and release only (an expiry keeps it). */
  @Column({ type: DataType.INTEGER, allowNull: false, defaultValue: 1 })
  declare version: CreationOptional<number>;

  @CreatedAt
  @Column({ type: DataType.DATE, allowNull: false })
  declare created_at: CreationOptional<Date>;

  @UpdatedAt
  @Column({ type: DataType.DATE, allowNull: false })
  declare updated_at: CreationOptional<Date>;

  @HasMany(() => ReservationItem)
  declare items?: NonAttribute<ReservationItem[]>;
}
