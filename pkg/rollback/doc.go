// Package rollback reverts a promotion pull request in the platform repository, with the safety rules that keep a rollback from undoing the wrong thing.
package rollback
