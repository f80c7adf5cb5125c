// Package lru implements a size-bounded least-recently-used cache for rendered page fragments.
package lru

import (
	"container/list"
	"sync"
	"time"
)

type entry struct {
	key     string
	value   []byte
	expires time.Time
}

// Cache holds at most maxBytes of values; the least recently used entries are evicted first.
type Cache struct {
	mu       sync.Mutex
	maxBytes int
	used     int
	ttl      time.Duration
	order    *list.List
	items    map[string]*list.Element
	hits     int
	misses   int
}

// New returns a cache bounded to maxBytes whose entries expire after ttl (0: never).
func New(maxBytes int, ttl time.Duration) *Cache {
	return &Cache{
		maxBytes: maxBytes,
		ttl:      ttl,
		order:    list.New(),
		items:    make(map[string]*list.Element),
	}
}

// Get returns the value for key and whether it was present and fresh.
func (c *Cache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		c.misses++
		return nil, false
	}
	e := el.Value.(*entry)
	if c.ttl > 0 && time.Now().After(e.expires) {
		c.removeElement(el)
		c.misses++
		return nil, false
	}
	c.order.MoveToFront(el)
	c.hits++
	return e.value, true
}

// Put stores value under key, evicting old entries until the cache fits.
func (c *Cache) Put(key string, value []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*entry)
		c.used += len(value) - len(e.value)
		e.value = value
		e.expires = time.Now().Add(c.ttl)
		c.order.MoveToFront(el)
	} else {
		el := c.order.PushFront(&entry{key: key, value: value, expires: time.Now().Add(c.ttl)})
		c.items[key] = el
		c.used += len(value)
	}
	for c.used > c.maxBytes {
		oldest := c.order.Back()
		if oldest == nil {
			break
		}
		c.removeElement(oldest)
	}
}

// Delete removes key if present.
func (c *Cache) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.removeElement(el)
	}
}

func (c *Cache) removeElement(el *list.Element) {
	e := c.order.Remove(el).(*entry)
	delete(c.items, e.key)
	c.used -= len(e.value)
}

// Stats reports the hit ratio since the cache was created.
func (c *Cache) Stats() (hits, misses int, ratio float64) {
	total := c.hits + c.misses
	return c.hits, c.misses, float64(c.hits) / float64(total)
}

// Keys lists the keys from most to least recently used.
func (c *Cache) Keys() []string {
	keys := make([]string, 0, len(c.items))
	for el := c.order.Front(); el != nil; el = el.Next() {
		keys = append(keys, el.Value.(*entry).key)
	}
	return keys
}
