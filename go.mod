module github.com/labrats-work/flightline

go 1.26.0
