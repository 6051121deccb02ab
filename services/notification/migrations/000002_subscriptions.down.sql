DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE subscription_keys;
DROP TABLE subscriptions;
DROP TABLE ownership;
