-- Inventory schema and the reports the warehouse team runs every morning.

CREATE TABLE warehouses (
    id          SERIAL PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    city        TEXT NOT NULL,
    opened_on   DATE NOT NULL
);

CREATE TABLE products (
    id          SERIAL PRIMARY KEY,
    sku         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    unit_price  NUMERIC(10, 2) NOT NULL,
    discontinued BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE stock (
    warehouse_id INTEGER NOT NULL REFERENCES warehouses(id),
    product_id   INTEGER NOT NULL REFERENCES products(id),
    quantity     INTEGER NOT NULL,
    updated_at   TIMESTAMP NOT NULL DEFAULT now(),
    PRIMARY KEY (warehouse_id, product_id)
);

CREATE TABLE movements (
    id           BIGSERIAL PRIMARY KEY,
    warehouse_id INTEGER NOT NULL REFERENCES warehouses(id),
    product_id   INTEGER NOT NULL REFERENCES products(id),
    delta        INTEGER NOT NULL,
    reason       TEXT NOT NULL CHECK (reason IN ('receipt', 'shipment', 'count', 'damage')),
    happened_at  TIMESTAMP NOT NULL DEFAULT now()
);

-- Products below their reorder point in any warehouse.
SELECT w.code, p.sku, p.name, s.quantity
FROM stock s
JOIN warehouses w ON w.id = s.warehouse_id
JOIN products p ON p.id = s.product_id
WHERE s.quantity < 20
ORDER BY s.quantity;

-- Value of the stock held per warehouse.
SELECT w.code, SUM(s.quantity * p.unit_price) AS stock_value
FROM stock s
JOIN warehouses w ON w.id = s.warehouse_id
JOIN products p ON p.id = s.product_id
GROUP BY w.code
ORDER BY stock_value DESC;

-- Shipments of the last seven days, per product.
SELECT p.sku, -SUM(m.delta) AS shipped
FROM movements m
JOIN products p ON p.id = m.product_id
WHERE m.reason = 'shipment'
  AND m.happened_at > now() - INTERVAL '7 days'
GROUP BY p.sku
HAVING -SUM(m.delta) > 0
ORDER BY shipped DESC
LIMIT 20;

-- Stock counts that disagree with the movement history.
SELECT s.warehouse_id, s.product_id, s.quantity, SUM(m.delta) AS from_movements
FROM stock s
LEFT JOIN movements m
  ON m.warehouse_id = s.warehouse_id AND m.product_id = s.product_id
GROUP BY s.warehouse_id, s.product_id, s.quantity
HAVING s.quantity <> SUM(m.delta);

-- Applies a shipment; run once per order line.
UPDATE stock SET quantity = quantity - 5, updated_at = now()
WHERE warehouse_id = 3 AND product_id = 118;
INSERT INTO movements (warehouse_id, product_id, delta, reason) VALUES (3, 118, -5, 'shipment');
