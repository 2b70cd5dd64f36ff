// The event contract (DESIGN §3): the typed shape of an accepted clickstream event.
// Wire JSON uses the same snake_case names; event_time is normalised to epoch ms.

export const KNOWN_EVENT_TYPES = ['view', 'click', 'add_to_cart', 'remove_from_cart', 'purchase', 'favorite', 'search'] as const;
export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

export type AttributeValue = string | number | boolean | null;

export interface ClickEvent {
  event_id: string;
  user_id: string;
  /** lowercase [a-z_]{1,32}; usually one of KNOWN_EVENT_TYPES */
  event_type: string;
  /** epoch milliseconds, UTC */
  event_time: number;
  /** the Kafka record timestamp (epoch ms): "ingestion time" */
  ingest_time: number;
  session_id?: string;
  item_id?: string;
  category?: string;
  brand?: string;
  /** finite, >= 0 */
  price?: number;
  /** integer >= 1 (default 1) */
  quantity: number;
  attributes?: Record<string, AttributeValue>;
}
