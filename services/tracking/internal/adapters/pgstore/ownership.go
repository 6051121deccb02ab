package pgstore

import (
	"context"
	"fmt"
)

// Grant records that tenant may see container, because of the booking or shipment `by`
// ("booking:<id>", "shipment:<id>"). Granting twice is a no-op.
func (s *Store) Grant(ctx context.Context, tenant, container, by string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO ownership (tenant_id, equipment_reference, granted_by) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, tenant, container, by)
	if err != nil {
		return fmt.Errorf("pgstore: grant: %w", err)
	}
	return nil
}

// Revoke removes what `by` granted (a cancelled booking). Other grants of the same container to
// the same tenant stay.
func (s *Store) Revoke(ctx context.Context, by string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM ownership WHERE granted_by = $1`, by); err != nil {
		return fmt.Errorf("pgstore: revoke: %w", err)
	}
	return nil
}

// Owns tells whether tenant may see container.
func (s *Store) Owns(ctx context.Context, tenant, container string) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ownership WHERE tenant_id = $1 AND equipment_reference = $2)`,
		tenant, container).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("pgstore: owns: %w", err)
	}
	return ok, nil
}
