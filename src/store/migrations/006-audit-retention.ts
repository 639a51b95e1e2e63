/**
 * Migration 6: audit retention. Records how far the audit log has been exported (`meta` key
 * `audit_exported_through`, an event id) and relaxes the append-only rule by exactly that much:
 * a DELETE of an event the export mark has passed is allowed (retention pruning, which only
 * removes events older than the retention), any other DELETE, every UPDATE and (PostgreSQL)
 * TRUNCATE still raise. So the database itself refuses to lose an event nobody exported.
 */
import { sql } from 'kysely';
import type { Migration } from './migration.js';

export const auditRetention: Migration = {
  version: 6,
  name: 'audit-retention',
  async up(db, dialect) {
    await sql`insert into meta (key, value) values ('audit_exported_through', '0')`.execute(db);
    if (dialect === 'postgres') {
      await sql`drop trigger audit_events_no_change on audit_events`.execute(db);
      await sql`create trigger audit_events_no_change before update or truncate on audit_events
        for each statement execute function audit_events_append_only()`.execute(db);
      await sql`create function audit_events_delete_exported_only() returns trigger language plpgsql as $$
        begin
          if old.id > (select cast(value as bigint) from meta where key = 'audit_exported_through') then
            raise exception 'audit_events is append-only: event % has not been exported', old.id
              using errcode = 'integrity_constraint_violation';
          end if;
          return old;
        end $$`.execute(db);
      await sql`create trigger audit_events_delete_exported_only before delete on audit_events
        for each row execute function audit_events_delete_exported_only()`.execute(db);
      return;
    }
    await sql`drop trigger audit_events_no_delete`.execute(db);
    await sql`create trigger audit_events_no_delete before delete on audit_events
      when old.id > (select cast(value as integer) from meta where key = 'audit_exported_through')
      begin select raise(abort, 'audit_events is append-only: only exported events may be pruned'); end`.execute(db);
  },
};
