/* MPI ping-pong: ranks 0 and 1 pass a message of BYTES bytes (a counter at its start) back and
 * forth N times and report the round-trip times; every rank first says where it runs (its host
 * and its Batch node).
 * Build: mpicc -O2 -o pingpong pingpong.c     Run: mpirun -np 2 ./pingpong [N [BYTES]] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char host[256] = "?";
    gethostname(host, sizeof host);
    const char *node = getenv("AZ_BATCH_NODE_ID");
    printf("rank %d of %d on host %s node %s\n", rank, size, host, node ? node : "-");
    fflush(stdout);
    if (size < 2) {
        if (rank == 0) fprintf(stderr, "ping-pong needs at least 2 ranks, got %d\n", size);
        MPI_Finalize();
        return 2;
    }
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int bytes = argc > 2 ? atoi(argv[2]) : (int)sizeof(int);
    if (bytes < (int)sizeof(int)) bytes = (int)sizeof(int);
    char *message = calloc((size_t)bytes, 1);
    int counter = 0;
    double min = 1e9, max = 0, total = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < n; i++) {
        double start = MPI_Wtime();
        if (rank == 0) {
            counter++;
            memcpy(message, &counter, sizeof counter);
            MPI_Send(message, bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(message, bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            memcpy(&counter, message, sizeof counter);
        } else if (rank == 1) {
            MPI_Recv(message, bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            memcpy(&counter, message, sizeof counter);
            counter++;
            memcpy(message, &counter, sizeof counter);
            MPI_Send(message, bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
        }
        double took = MPI_Wtime() - start;
        total += took;
        if (took < min) min = took;
        if (took > max) max = took;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        printf("%d round trips of %d bytes, counter %d (expected %d)\n", n, bytes, counter, 2 * n);
        printf("round trip: mean %.1f us, min %.1f us, max %.1f us\n",
               total * 1e6 / n, min * 1e6, max * 1e6);
    }
    free(message);
    MPI_Finalize();
    return rank == 0 && counter != 2 * n ? 1 : 0;
}
