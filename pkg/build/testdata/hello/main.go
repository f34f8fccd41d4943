// Command hello is the tiny main package that pkg/build's tests cross-compile into images.
package main

import "fmt"

var version = "dev"

const greeting = "hello"

func main() { fmt.Println(greeting, version) }
