/* Reference client for the Modbus TCP benchmark: libmodbus reading 10 holding registers,
 * one request in flight, for the given number of seconds. Prints "<transactions> <seconds>". */
#include <modbus.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s host port seconds\n", argv[0]);
        return 2;
    }
    modbus_t *ctx = modbus_new_tcp(argv[1], atoi(argv[2]));
    if (ctx == NULL || modbus_connect(ctx) == -1) {
        fprintf(stderr, "connect failed: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_set_slave(ctx, 1);
    uint16_t regs[10];
    double seconds = atof(argv[3]);
    double start = now();
    long n = 0;
    while (now() - start < seconds) {
        if (modbus_read_registers(ctx, 0, 10, regs) != 10) {
            fprintf(stderr, "read failed: %s\n", modbus_strerror(errno));
            return 1;
        }
        n++;
    }
    printf("%ld %f\n", n, now() - start);
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
