//go:build lean

package main

func init() { edition = "lean" }
