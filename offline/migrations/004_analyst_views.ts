// Migration 4: views analysts query with plain SQL. All read deduplicated data and use no
// window functions (18.16 has none).
//
// Dedup is a GROUP BY on the ReplacingMergeTree key (user_id, event_time, event_id; plus
// event_date, which follows from event_time, so current ClickHouse can push a date filter
// into it), taking any() of the other columns: it keeps exactly what FINAL would keep.
// Not FINAL itself: on 18.16 FINAL opens every part at once with read buffers per column,
// measured at ~27 MB per part for all columns of events (2.7 GB for 100 one-row parts),
// while GROUP BY needs memory per row and can spill (max_bytes_before_external_group_by).
//
// Two more 18.16 traps:
// - an alias equal to a column name (`f(x) AS x`) also rewrites that column in WHERE and in
//   other expressions, so renamed columns come from a subquery;
// - an aggregate with a Nullable condition (`countIf(category = 'x')`) returns Nullable,
//   so conditions on Nullable columns go through ifNull/isNotNull.
import { sql, table } from '../sql.js';
import { createView, insertDocs, viewDocs, type Migration, type ViewSpec } from './ddl.js';

export const SESSION_GAP_MS = 30 * 60_000;

export const SESSIONS: ViewSpec = {
  name: 'sessions',
  doc: 'Gap-based sessions: per user, a maximal run of events whose consecutive event_times are less than 30 minutes apart (the rule of the user_session_* features). Computed at query time from deduplicated events (arrays, no window functions) over the whole retained history, so filter users or days in an outer query; late events are not in events and never split or merge sessions. Identify a session by (user_id, session_start).',
  columns: [
    { name: 'user_id', doc: 'The user.' },
    { name: 'session_index', doc: '1, 2, 3, ... sessions of the user in event_time order, counted within the retained history.' },
    { name: 'session_start', doc: 'event_time of the first event, epoch ms.' },
    { name: 'session_end', doc: 'event_time of the last event, epoch ms (inclusive).' },
    { name: 'session_date', doc: 'UTC day of session_start.' },
    { name: 'duration_s', doc: '(session_end - session_start) / 1000: 0 for a one-event session.' },
    { name: 'event_count', doc: 'Events in the session.' },
    { name: 'views', doc: 'view events.' },
    { name: 'clicks', doc: 'click events.' },
    { name: 'add_to_carts', doc: 'add_to_cart events.' },
    { name: 'purchases', doc: 'purchase events.' },
    { name: 'distinct_items', doc: 'Distinct item_id values touched.' },
    { name: 'revenue_micros', doc: 'sum(price_micros * quantity) over purchases with a price, in micro-units.' },
    { name: 'converted', doc: '1 when the session has at least one purchase.' },
  ],
  select: (db) => sql`SELECT
  user_id,
  session_index,
  min(t) AS session_start,
  max(t) AS session_end,
  toDate(toDateTime(intDiv(min(t), 1000), 'UTC')) AS session_date,
  (max(t) - min(t)) / 1000 AS duration_s,
  count() AS event_count,
  countIf(et = 'view') AS views,
  countIf(et = 'click') AS clicks,
  countIf(et = 'add_to_cart') AS add_to_carts,
  countIf(et = 'purchase') AS purchases,
  uniqExactIf(item, item != '') AS distinct_items,
  sumIf(rev, et = 'purchase') AS revenue_micros,
  toUInt8(countIf(et = 'purchase') > 0) AS converted
FROM
(
  SELECT user_id, tupleElement(ev, 1) AS t, tupleElement(ev, 3) AS et, tupleElement(ev, 4) AS item, tupleElement(ev, 5) AS rev, session_index
  FROM
  (
    SELECT
      user_id,
      arraySort(groupArray((event_time, event_id, et, item, rev))) AS evs,
      arrayCumSum(arrayMap((gap, i) -> toUInt64(i = 1 OR gap >= 1800000), arrayDifference(arrayMap(e -> tupleElement(e, 1), evs)), arrayEnumerate(evs))) AS starts
    FROM
    (
      SELECT user_id, event_time, event_id, any(event_type) AS et, any(ifNull(item_id, '')) AS item, any(ifNull(price_micros, 0) * quantity) AS rev
      FROM ${table(db, 'events')}
      GROUP BY event_date, user_id, event_time, event_id
    )
    GROUP BY user_id
  )
  ARRAY JOIN evs AS ev, starts AS session_index
)
GROUP BY user_id, session_index`,
};

export const USER_DAILY_ACTIVITY: ViewSpec = {
  name: 'user_daily_activity',
  doc: 'One row per (UTC day, user) with activity: event counts by type, purchases and exact revenue, distinct items and categories, first and last event. Deduplicated events.',
  columns: [
    { name: 'event_date', doc: 'UTC day.' },
    { name: 'user_id', doc: 'The user.' },
    { name: 'event_count', doc: 'All events of the user that day.' },
    { name: 'views', doc: 'view events.' },
    { name: 'clicks', doc: 'click events.' },
    { name: 'add_to_carts', doc: 'add_to_cart events.' },
    { name: 'remove_from_carts', doc: 'remove_from_cart events.' },
    { name: 'purchases', doc: 'purchase events.' },
    { name: 'favorites', doc: 'favorite events.' },
    { name: 'searches', doc: 'search events.' },
    { name: 'units_purchased', doc: 'sum(quantity) over purchases.' },
    { name: 'revenue_micros', doc: 'sum(price_micros * quantity) over purchases with a price, micro-units (divide by 1e6 for currency).' },
    { name: 'distinct_items', doc: 'Distinct item_id values.' },
    { name: 'distinct_categories', doc: 'Distinct category values.' },
    { name: 'first_event_time', doc: 'Earliest event_time that day, epoch ms.' },
    { name: 'last_event_time', doc: 'Latest event_time that day, epoch ms.' },
  ],
  select: (db) => sql`SELECT
  event_date,
  user_id,
  count() AS event_count,
  countIf(et = 'view') AS views,
  countIf(et = 'click') AS clicks,
  countIf(et = 'add_to_cart') AS add_to_carts,
  countIf(et = 'remove_from_cart') AS remove_from_carts,
  countIf(et = 'purchase') AS purchases,
  countIf(et = 'favorite') AS favorites,
  countIf(et = 'search') AS searches,
  sumIf(qty, et = 'purchase') AS units_purchased,
  sumIf(rev, et = 'purchase') AS revenue_micros,
  uniqExactIf(ifNull(item, ''), isNotNull(item)) AS distinct_items,
  uniqExactIf(ifNull(cat, ''), isNotNull(cat)) AS distinct_categories,
  min(event_time) AS first_event_time,
  max(event_time) AS last_event_time
FROM
(
  SELECT event_date, user_id, event_time, event_id, any(event_type) AS et, any(item_id) AS item, any(category) AS cat,
         any(quantity) AS qty, any(ifNull(price_micros, 0) * quantity) AS rev
  FROM ${table(db, 'events')}
  GROUP BY event_date, user_id, event_time, event_id
)
GROUP BY event_date, user_id`,
};

export const ITEM_DAILY_ACTIVITY: ViewSpec = {
  name: 'item_daily_activity',
  doc: 'One row per (UTC day, item) with activity: latest known category and brand, event counts by type, units, exact revenue, distinct users. Reads events_by_item, deduplicated.',
  columns: [
    { name: 'event_date', doc: 'UTC day.' },
    { name: 'item_id', doc: 'The product.' },
    { name: 'category', doc: 'Category of the item\'s latest event that day that had one; NULL if none had.' },
    { name: 'brand', doc: 'Brand of the item\'s latest event that day that had one; NULL if none had.' },
    { name: 'event_count', doc: 'All events on the item that day.' },
    { name: 'views', doc: 'view events.' },
    { name: 'clicks', doc: 'click events.' },
    { name: 'add_to_carts', doc: 'add_to_cart events.' },
    { name: 'purchases', doc: 'purchase events.' },
    { name: 'units_purchased', doc: 'sum(quantity) over purchases.' },
    { name: 'revenue_micros', doc: 'sum(price_micros * quantity) over purchases with a price, micro-units.' },
    { name: 'distinct_users', doc: 'Distinct users with any event on the item.' },
    { name: 'distinct_viewers', doc: 'Distinct users who viewed it (the item_distinct_viewers_24h feature, per calendar day).' },
    { name: 'distinct_buyers', doc: 'Distinct users who purchased it.' },
  ],
  select: (db) => sql`SELECT
  event_date,
  item_id,
  argMaxIf(cat, event_time, isNotNull(cat)) AS category,
  argMaxIf(br, event_time, isNotNull(br)) AS brand,
  count() AS event_count,
  countIf(et = 'view') AS views,
  countIf(et = 'click') AS clicks,
  countIf(et = 'add_to_cart') AS add_to_carts,
  countIf(et = 'purchase') AS purchases,
  sumIf(qty, et = 'purchase') AS units_purchased,
  sumIf(rev, et = 'purchase') AS revenue_micros,
  uniqExact(uid) AS distinct_users,
  uniqExactIf(uid, et = 'view') AS distinct_viewers,
  uniqExactIf(uid, et = 'purchase') AS distinct_buyers
FROM
(
  SELECT event_date, item_id, event_time, event_id, any(user_id) AS uid, any(event_type) AS et, any(category) AS cat, any(brand) AS br,
         any(quantity) AS qty, any(ifNull(price_micros, 0) * quantity) AS rev
  FROM ${table(db, 'events_by_item')}
  GROUP BY event_date, item_id, event_time, event_id
)
GROUP BY event_date, item_id`,
};

export const FUNNEL_DAILY: ViewSpec = {
  name: 'funnel_daily',
  doc: 'The view -> click -> add_to_cart -> purchase funnel per (UTC day, category): events and distinct users at each step. Steps are counted independently (a buyer need not have viewed that day); for ordered funnels per user see windowFunnel in docs/analysts.md.',
  columns: [
    { name: 'event_date', doc: 'UTC day.' },
    { name: 'category', doc: 'Category of the events; \'\' for events without one.' },
    { name: 'views', doc: 'view events.' },
    { name: 'clicks', doc: 'click events.' },
    { name: 'add_to_carts', doc: 'add_to_cart events.' },
    { name: 'purchases', doc: 'purchase events.' },
    { name: 'viewers', doc: 'Distinct users with a view.' },
    { name: 'clickers', doc: 'Distinct users with a click.' },
    { name: 'carters', doc: 'Distinct users with an add_to_cart.' },
    { name: 'buyers', doc: 'Distinct users with a purchase.' },
  ],
  select: (db) => sql`SELECT
  event_date,
  cat AS category,
  countIf(et = 'view') AS views,
  countIf(et = 'click') AS clicks,
  countIf(et = 'add_to_cart') AS add_to_carts,
  countIf(et = 'purchase') AS purchases,
  uniqExactIf(user_id, et = 'view') AS viewers,
  uniqExactIf(user_id, et = 'click') AS clickers,
  uniqExactIf(user_id, et = 'add_to_cart') AS carters,
  uniqExactIf(user_id, et = 'purchase') AS buyers
FROM
(
  SELECT event_date, user_id, event_time, event_id, any(event_type) AS et, any(ifNull(category, '')) AS cat
  FROM ${table(db, 'events')}
  WHERE event_type IN ('view', 'click', 'add_to_cart', 'purchase')
  GROUP BY event_date, user_id, event_time, event_id
)
GROUP BY event_date, cat`,
};

export const ANALYST_VIEWS: readonly ViewSpec[] = [SESSIONS, USER_DAILY_ACTIVITY, ITEM_DAILY_ACTIVITY, FUNNEL_DAILY];

export const migration: Migration = {
  version: 4,
  name: 'analyst_views',
  statements: (db) => [...ANALYST_VIEWS.map((v) => createView(db, v)), insertDocs(db, 4, ANALYST_VIEWS.map((v) => viewDocs(v)))],
};
